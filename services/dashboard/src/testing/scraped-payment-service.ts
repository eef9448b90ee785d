import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PaymentOutcome } from '../snapshot/snapshot';

/**
 * Stands in for the payment service where the dashboard reads it: GET /health and GET /metrics with
 * its counters `payment_charges_total{outcome}` and `payment_refunds_total`, which a spec moves as if
 * charges and refunds were made. The dashboard scrapes it like any other target.
 */
export class ScrapedPaymentService {
  private readonly charges = new Map<PaymentOutcome, number>();
  private refunds = 0;

  private readonly server: Server = createServer((request, response) => {
    if (request.url === '/health') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (request.url === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.metrics());
    } else {
      response.writeHead(404).end();
    }
  });

  private constructor() {}

  static async start(): Promise<ScrapedPaymentService> {
    const service = new ScrapedPaymentService();
    await new Promise<void>((resolve) => service.server.listen(0, '127.0.0.1', resolve));
    return service;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  charged(outcome: PaymentOutcome, count = 1): void {
    this.charges.set(outcome, (this.charges.get(outcome) ?? 0) + count);
  }

  refunded(count = 1): void {
    this.refunds += count;
  }

  /** Every charge and refund counted so far. */
  chargesCounted(): { charges: number; refunds: number } {
    return { charges: [...this.charges.values()].reduce((a, b) => a + b, 0), refunds: this.refunds };
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private metrics(): string {
    // A labelled series appears on its first increment, as prom-client's do.
    const lines = [
      '# TYPE payment_charges_total counter',
      ...[...this.charges].map(
        ([outcome, count]) => `payment_charges_total{service="payment",outcome="${outcome}"} ${count}`,
      ),
      '# TYPE payment_refunds_total counter',
      `payment_refunds_total{service="payment"} ${this.refunds}`,
    ];
    return `${lines.join('\n')}\n`;
  }
}
