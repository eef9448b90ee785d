export interface MessagingOptions {
  /** amqp:// URL, vhost included. */
  url: string;
  /** The service's name: AMQP `appId` of everything it publishes and its connection name in the UI. */
  appId: string;
  /** Declare exchanges, queues and bindings of the contract on every (re)connect. */
  declareTopology?: boolean;
  /** Default consumer prefetch on this connection's channels. */
  prefetchCount?: number;
  /** How long a publish may wait for its confirm (including while reconnecting). */
  publishTimeoutMs?: number;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');
