import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every record logged on behalf of one request or message carries besides its own text: its
 * correlation id, the order it concerns, and the exchange, routing key and queue the message came
 * through (a consumer sets those).
 */
export interface LogContext {
  correlationId?: string;
  orderId?: string;
  exchange?: string;
  routingKey?: string;
  queue?: string;
}

/** The log context of the request or message being handled, visible to everything it calls. */
export const correlationContext = new AsyncLocalStorage<LogContext>();

export function currentCorrelationId(): string | undefined {
  return correlationContext.getStore()?.correlationId;
}

export function runWithCorrelationId<T>(correlationId: string, work: () => T): T {
  return correlationContext.run({ correlationId }, work);
}

/** Runs `work` in a log context of its own (a consumer, per message). */
export function runWithLogContext<T>(context: LogContext, work: () => T): T {
  return correlationContext.run({ ...context }, work);
}

/**
 * Names the order the current request or message concerns, once it is known (after validation):
 * every record logged from here on in this context carries it. Outside any context it does nothing.
 */
export function setLogOrderId(orderId: string | undefined): void {
  const context = correlationContext.getStore();
  if (context && orderId) context.orderId = orderId;
}
