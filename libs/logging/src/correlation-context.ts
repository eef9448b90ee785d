import { AsyncLocalStorage } from 'node:async_hooks';

/** The correlation id of the request or message being handled, visible to everything it calls. */
export const correlationContext = new AsyncLocalStorage<{ correlationId: string }>();

export function currentCorrelationId(): string | undefined {
  return correlationContext.getStore()?.correlationId;
}

export function runWithCorrelationId<T>(correlationId: string, work: () => T): T {
  return correlationContext.run({ correlationId }, work);
}
