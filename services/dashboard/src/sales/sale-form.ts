import { HttpStatus } from '@nestjs/common';
import {
  FLASH_SALE_LIMITS,
  PAYMENT_WINDOW_LIMITS,
  SALE_ADMISSIONS,
  type SaleAdmission,
} from '@shop/contracts';
import { ApiError, type FieldError } from '@shop/service-kit';

/**
 * What the flash-sale panel's form sends: the load test's own options, bounded as on its command line,
 * and the rules of the sale it creates (PUT /sales) for its product.
 */
export interface SaleForm {
  stock: number;
  requests: number;
  connections: number;
  retryShare: number;
  /** `direct`: POST /orders answers 201 or a refusal; `queued`: 202 and a ticket through the waiting room. */
  admission: SaleAdmission;
  limitPerCustomer: number;
  /** The sale opens this long after it is created: a few customers try before that. */
  opensInSeconds: number;
  /** The sale's payment window; unset: order-api's PAYMENT_WINDOW_MS. */
  paymentWindowSeconds?: number;
  /** What the customers of the accepted orders do: pay, pay with the late card, cancel (the rest never pay). */
  payShare: number;
  latePayShare: number;
  cancelShare: number;
  /** Customers who order again with a new key once their first try is answered. */
  secondAttemptShare: number;
}

/**
 * What a sale started from the page may ask for, tighter than the command line's bounds (10,000,000
 * requests would fire for hours). On the 2-core development machine a sale fires 1,200-1,500 requests/s
 * and accepts a few hundred orders/s (docs/measured.md): 200,000 requests is under three minutes of
 * firing; 50,000 units means at most 50,000 orders, so 50,000 emails (a twentieth of what the mail
 * catcher and compose's Mailpit keep) and PDFs; 1,000 connections stays under a default open-files limit
 * of 1,024. Bigger sales run from the command line (`npm run loadtest:flash-sale`).
 */
export const DASHBOARD_SALE_LIMITS = {
  stock: { ...FLASH_SALE_LIMITS.stock, max: 50_000 },
  requests: { ...FLASH_SALE_LIMITS.requests, max: 200_000 },
  connections: { ...FLASH_SALE_LIMITS.connections, max: 1_000 },
} as const;

interface NumberRule {
  min: number;
  max: number;
  integer: boolean;
  /** Undefined: the field may be left out, and stays unset. */
  default?: number;
}

const share = (fallback: number): NumberRule => ({ min: 0, max: 1, default: fallback, integer: false });

/** The number fields; the shares' defaults are the load test's own (its --help). */
const NUMBER_FIELDS = {
  stock: { ...DASHBOARD_SALE_LIMITS.stock, integer: true },
  requests: { ...DASHBOARD_SALE_LIMITS.requests, integer: true },
  connections: { ...DASHBOARD_SALE_LIMITS.connections, integer: true },
  retryShare: { ...FLASH_SALE_LIMITS.retryShare, integer: false },
  limitPerCustomer: { min: 1, max: 10, default: 1, integer: true },
  opensInSeconds: { min: 0, max: 600, default: 1.5, integer: false },
  paymentWindowSeconds: {
    min: PAYMENT_WINDOW_LIMITS.minMs / 1000,
    max: PAYMENT_WINDOW_LIMITS.maxMs / 1000,
    integer: false,
  },
  payShare: share(0.5),
  latePayShare: share(0.1),
  cancelShare: share(0.1),
  secondAttemptShare: share(0.02),
} satisfies Record<string, NumberRule>;

type NumberField = keyof typeof NUMBER_FIELDS;
const FIELD_NAMES = ['admission', ...Object.keys(NUMBER_FIELDS)];

/**
 * Checks the form's body: each field missing, not a number, not whole, out of range or not one of its
 * choices gets its own entry with a code; any error → 400 VALIDATION_FAILED listing them all. A field
 * left out takes the load test's default (paymentWindowSeconds: order-api's window).
 */
export function parseSaleForm(body: unknown): SaleForm {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(
      HttpStatus.BAD_REQUEST,
      'VALIDATION_FAILED',
      'The body must be a JSON object of the sale’s options.',
      {
        errors: [{ field: '(root)', code: 'NOT_AN_OBJECT', message: 'must be a JSON object' }],
      },
    );
  }
  const input = body as Record<string, unknown>;
  const errors: FieldError[] = Object.keys(input)
    .filter((field) => !FIELD_NAMES.includes(field))
    .map((field) => ({
      field,
      code: 'UNKNOWN_FIELD',
      message: `is not an option (use ${FIELD_NAMES.join(', ')})`,
    }));
  const form = {} as Record<string, unknown>;
  const admission = input.admission === undefined ? 'direct' : input.admission;
  if (SALE_ADMISSIONS.includes(admission as SaleAdmission)) form.admission = admission;
  else
    errors.push({
      field: 'admission',
      code: 'NOT_ONE_OF',
      message: `must be ${SALE_ADMISSIONS.join(' or ')}`,
    });
  for (const [field, rule] of Object.entries(NUMBER_FIELDS) as [NumberField, NumberRule][]) {
    const raw = input[field];
    if (raw === undefined || (raw === null && rule.default === undefined)) {
      if (rule.default !== undefined) form[field] = rule.default;
      continue;
    }
    const range = `from ${rule.min.toLocaleString('en-US')} to ${rule.max.toLocaleString('en-US')}`;
    if (typeof raw !== 'number' || !Number.isFinite(raw)) {
      errors.push({ field, code: 'NOT_A_NUMBER', message: `must be a number ${range}` });
    } else if (rule.integer && !Number.isInteger(raw)) {
      errors.push({ field, code: 'NOT_A_WHOLE_NUMBER', message: `must be a whole number ${range}` });
    } else if (raw < rule.min || raw > rule.max) {
      errors.push({ field, code: 'OUT_OF_RANGE', message: `must be ${range}` });
    } else {
      form[field] = raw;
    }
  }
  const { payShare, latePayShare, cancelShare } = form as Partial<SaleForm>;
  // The load test refuses shares it cannot split among the orders (its --cancel-share and the others).
  if (
    payShare !== undefined &&
    latePayShare !== undefined &&
    cancelShare !== undefined &&
    payShare + latePayShare + cancelShare > 1 + 1e-9
  ) {
    errors.push({
      field: 'cancelShare',
      code: 'SHARES_OVER_ONE',
      message: `with payShare and latePayShare must add up to at most 1 (${payShare} + ${latePayShare} + ${cancelShare})`,
    });
  }
  if (errors.length > 0) {
    throw new ApiError(
      HttpStatus.BAD_REQUEST,
      'VALIDATION_FAILED',
      `The sale's options are invalid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`,
      { errors },
    );
  }
  return form as unknown as SaleForm;
}
