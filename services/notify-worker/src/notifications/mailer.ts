import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { createTransport, type Transporter } from 'nodemailer';
import { MimeSkeleton } from './mime-skeleton';
import type { OrderEmail } from './order-email';

export interface MailerOptions {
  smtpUrl: string;
  from: string;
  /** Pooled SMTP connections: sending over open connections is several times faster than one per mail. */
  maxConnections: number;
}

export const MAILER_OPTIONS = Symbol('MAILER_OPTIONS');

/**
 * nodemailer over pooled SMTP. `send` resolves only when the server accepted the message (250).
 * The message is built from a MIME skeleton prepared once and handed to nodemailer as raw, which spares
 * MailComposer's per-message MIME tree; nodemailer still does the SMTP conversation and dot-stuffing.
 */
@Injectable()
export class Mailer implements OnApplicationShutdown {
  private readonly transport: Transporter;
  private readonly skeleton: MimeSkeleton;

  constructor(private readonly options: MailerOptions) {
    this.skeleton = new MimeSkeleton(options.from);
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
    const message = this.skeleton.build(email);
    if (!message) return this.sendComposed(email);
    // The Message-ID is passed along only so nodemailer reports it: the raw message already carries it.
    const info = await this.transport.sendMail({ ...message, messageId: email.messageId });
    return { response: String(info.response ?? ''), messageId: email.messageId };
  }

  /** nodemailer composes the message: for addresses the skeleton does not take (and the bench's baseline). */
  async sendComposed(email: OrderEmail): Promise<{ response: string; messageId: string }> {
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
