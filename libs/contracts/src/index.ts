export * from './names';
export * from './topology';
export * from './messages/envelope';
export * from './messages/log-record/log-record.v1';
export * from './messages/order-placed/order-placed.v1';
export * from './messages/order-status/order-status.v1';
export * from './messages/validate-message';
export * from './money';
