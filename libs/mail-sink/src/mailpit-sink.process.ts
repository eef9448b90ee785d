/**
 * The child process of `startMailpitSinkProcess`: starts the sink with the options of its one argument,
 * prints one JSON line (`smtpUrl`, `apiUrl`) once it listens, and stops on SIGTERM or SIGINT, or when
 * its parent goes (its stdin closes).
 */
import { decodeOptions, startMailpitSink } from './mailpit-sink';

async function main(): Promise<void> {
  const sink = await startMailpitSink(decodeOptions(process.argv[2] ?? '{}'));
  process.stdout.write(`${JSON.stringify({ smtpUrl: sink.smtpUrl, apiUrl: sink.apiUrl })}\n`);
  const stop = () => void sink.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdin.once('end', stop).resume();
}

main().catch((error: Error) => {
  console.error(`[mail sink] ${error.message}`);
  process.exit(1);
});
