export * from './broker-connection';
export * from './renewing-confirm-channel';
