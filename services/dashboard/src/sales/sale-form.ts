import { HttpStatus } from '@nestjs/common';
import { FLASH_SALE_LIMITS } from '@shop/contracts';
import { ApiError, type FieldError } from '@shop/service-kit';

/** What the flash-sale panel's form sends: the load test's own options, bounded as on its command line. */
export interface SaleForm {
  stock: number;
  requests: number;
  connections: number;
  retryShare: number;
}

/**
 * What a sale started from the page may ask for, tighter than the command line's bounds (10,000,000
 * requests would fire for hours). On the 2-core development machine a sale fires 1,200-1,500 requests/s
 * and accepts a few hundred orders/s (README, "Measured"): 200,000 requests is under three minutes of
 * firing; 50,000 units means at most 50,000 orders, so 50,000 emails (a twentieth of what the mail
 * catcher and compose's Mailpit keep) and PDFs; 1,000 connections stays under a default open-files limit
 * of 1,024. Bigger sales run from the command line (`npm run loadtest:flash-sale`).
 */
export const DASHBOARD_SALE_LIMITS = {
  stock: { ...FLASH_SALE_LIMITS.stock, max: 50_000 },
  requests: { ...FLASH_SALE_LIMITS.requests, max: 200_000 },
  connections: { ...FLASH_SALE_LIMITS.connections, max: 1_000 },
} as const;

const FIELDS = {
  stock: { ...DASHBOARD_SALE_LIMITS.stock, integer: true },
  requests: { ...DASHBOARD_SALE_LIMITS.requests, integer: true },
  connections: { ...DASHBOARD_SALE_LIMITS.connections, integer: true },
  retryShare: { ...FLASH_SALE_LIMITS.retryShare, integer: false },
} as const;

/**
 * Checks the form's body: each field missing, not a number, not whole or out of range gets its own
 * entry with a code; any error → 400 VALIDATION_FAILED listing them all. A field left out takes the
 * load test's default.
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
    .filter((field) => !(field in FIELDS))
    .map((field) => ({
      field,
      code: 'UNKNOWN_FIELD',
      message: `is not an option (use ${Object.keys(FIELDS).join(', ')})`,
    }));
  const form = {} as SaleForm;
  for (const [field, rule] of Object.entries(FIELDS) as [keyof SaleForm, (typeof FIELDS)[keyof SaleForm]][]) {
    const raw = input[field];
    if (raw === undefined) {
      form[field] = rule.default;
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
  if (errors.length > 0) {
    throw new ApiError(
      HttpStatus.BAD_REQUEST,
      'VALIDATION_FAILED',
      `The sale's options are invalid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`,
      { errors },
    );
  }
  return form;
}
