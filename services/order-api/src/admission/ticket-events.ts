import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { TicketOutcome } from './request-outcomes.store';

/**
 * Tickets decided by this instance's consumer, for GET /orders/requests/:ticket's event streams: a
 * stream whose ticket is decided here hears it at once; one decided by another instance finds it in the
 * database on its next look.
 */
@Injectable()
export class TicketEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  decided(outcome: TicketOutcome): void {
    this.emitter.emit(outcome.ticket, outcome);
  }

  /** Calls `listener` once when `ticketId` is decided here; the returned function stops listening. */
  onDecided(ticketId: string, listener: (outcome: TicketOutcome) => void): () => void {
    this.emitter.once(ticketId, listener);
    return () => this.emitter.off(ticketId, listener);
  }
}
