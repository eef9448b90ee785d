import { HttpStatus } from '@nestjs/common';
import { SaleRefusalCodes } from '@shop/contracts';
import { ApiError } from '@shop/service-kit';
import type { Sale } from './sale';

/** 409 SALE_NOT_OPEN: with when it opens, and Retry-After. */
export function saleNotOpen(sale: Sale, now: number): ApiError {
  const retryAfterSeconds = Math.max(1, Math.ceil((sale.opensAt.getTime() - now) / 1000));
  return new ApiError(
    HttpStatus.CONFLICT,
    SaleRefusalCodes.notOpen,
    `The sale of ${sale.sku} opens at ${sale.opensAt.toISOString()}; nothing was reserved.`,
    { saleId: sale.id, opensAt: sale.opensAt.toISOString(), retryAfterSeconds },
  );
}

export function saleClosed(sale: Sale): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    SaleRefusalCodes.closed,
    `The sale of ${sale.sku} closed at ${sale.closesAt.toISOString()}.`,
    { saleId: sale.id, closesAt: sale.closesAt.toISOString() },
  );
}

export function signInRequired(sale: Sale): ApiError {
  return new ApiError(
    HttpStatus.UNAUTHORIZED,
    SaleRefusalCodes.signInRequired,
    `${sale.sku} is on sale (${sale.id}): sign in at identity and order with your customer token.`,
    { saleId: sale.id },
  );
}

export function limitPerCustomer(sale: Sale): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    SaleRefusalCodes.limitPerCustomer,
    `The sale of ${sale.sku} allows ${sale.limitPerCustomer} unit(s) per customer, and this order would pass that.`,
    { saleId: sale.id, limitPerCustomer: sale.limitPerCustomer },
  );
}

/**
 * The refusal memory can give an order of these sales now (the window, a guest), or undefined when the
 * database must decide. Checked before anything else of the order: nothing is read, locked or written.
 * After the close, a request with an Idempotency-Key may be the retry of an order placed during the
 * sale: the database answers it (the order, or SALE_CLOSED).
 */
export function refusalFromMemory(
  sales: readonly Sale[],
  request: { signedIn: boolean; mayBeReplay: boolean },
  now: number,
): ApiError | undefined {
  for (const sale of sales) {
    if (now < sale.opensAt.getTime()) return saleNotOpen(sale, now);
    if (now >= sale.closesAt.getTime()) {
      if (!request.mayBeReplay) return saleClosed(sale);
    } else if (!request.signedIn) return signInRequired(sale);
  }
  return undefined;
}
