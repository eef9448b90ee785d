export * from './smtp-sink';
export * from './mailpit-api';
export {
  MailSinkPortInUseError,
  startMailpitSink,
  startMailpitSinkProcess,
  type MailpitSink,
  type MailpitSinkOptions,
  type MailpitSinkProcess,
  type MailpitSinkProcessOptions,
} from './mailpit-sink';
