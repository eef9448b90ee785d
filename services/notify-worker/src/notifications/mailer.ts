import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { createTransport, type Transporter } from 'nodemailer';
import type { OrderEmail } from './order-email';

export interface MailerOptions {
  smtpUrl: string;
  from: string;
  /** Pooled SMTP connections: sending over open connections is several times faster than one per mail. */
  maxConnections: number;
}

export const MAILER_OPTIONS = Symbol('MAILER_OPTIONS');

/** nodemailer over pooled SMTP. `send` resolves only when the server accepted the message (250). */
@Injectable()
export class Mailer implements OnApplicationShutdown {
  private readonly transport: Transporter;

  constructor(private readonly options: MailerOptions) {
    this.transport = createTransport({
      url: options.smtpUrl,
      pool: true,
      maxConnections: options.maxConnections,
      maxMessages: Infinity,
      // Fail fast when the server is down or stalls, so the message goes to its retry queue.
      connectionTimeout: 5_000,
      greetingTimeout: 5_000,
      socketTimeout: 15_000,
    } as Parameters<typeof createTransport>[0]);
  }

  async send(email: OrderEmail): Promise<{ response: string; messageId: string }> {
    const info = await this.transport.sendMail({
      from: this.options.from,
      to: email.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
      messageId: email.messageId,
    });
    return { response: String(info.response ?? ''), messageId: String(info.messageId ?? email.messageId) };
  }

  async verify(): Promise<void> {
    await this.transport.verify();
  }

  onApplicationShutdown(): void {
    this.transport.close();
  }
}
