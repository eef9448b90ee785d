/**
 * Every exchange, queue and routing-key name in the system. These names are a public contract
 * (DESIGN.md, Broker topology): renaming one breaks deployed brokers and other teams' consumers.
 */
export const Exchanges = {
  /** Direct exchange for order events. */
  order: 'order',
  /** Direct exchange that dead-lettered order messages go through, keyed by their queue name. */
  orderDeadLetter: 'order.dlx',
  /** Topic exchange for log records, key `<service>.<level>`. */
  logs: 'logs',
  /** Fanout exchange bound to `logs` with `#`: every subscriber gets every record. */
  logsBroadcast: 'logs.broadcast',
} as const;

export const RoutingKeys = {
  orderNotify: 'order.notify',
  orderReport: 'order.report',
} as const;

export const Queues = {
  orderNotify: 'order_notify',
  orderReport: 'order_report',
  orderNotifyDeadLetter: 'order_notify.dlq',
  orderReportDeadLetter: 'order_report.dlq',
  logArchive: 'log_archive',
  logAlerts: 'log_alerts',
} as const;

export const LogAlertBindings = ['*.error', '*.fatal'] as const;

/** AMQP `type` property of each message kind; a breaking change gets a new version suffix. */
export const MessageTypes = {
  orderPlacedV1: 'order.placed.v1',
} as const;

export type ExchangeName = (typeof Exchanges)[keyof typeof Exchanges];
export type QueueName = (typeof Queues)[keyof typeof Queues];
export type MessageType = (typeof MessageTypes)[keyof typeof MessageTypes];
