import { Client } from 'pg';
import { Tally } from './tally';

/**
 * Samples what the database connections of one application are doing (pg_stat_activity every
 * `intervalMs`): running, waiting on a lock or on WAL, or idle waiting for the client. Tells a hot-row
 * bound run from one where the client cannot keep its connections busy.
 */
export class DbActivitySampler {
  private readonly states = new Tally();
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();
  private client: Client | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly applicationName: string,
    private readonly intervalMs = 100,
  ) {}

  async begin(): Promise<void> {
    this.client = new Client({ connectionString: this.databaseUrl, application_name: 'bench-sampler' });
    await this.client.connect();
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample()).catch(() => undefined);
    }, this.intervalMs);
  }

  /** Stops sampling; returns how many queries it ran (they count in pg_stat_database too). */
  async end(): Promise<number> {
    clearInterval(this.timer);
    await this.sampling;
    await this.client?.end();
    return this.samples;
  }

  /** Average connections in each state, busiest first, e.g. `Lock:tuple 9.8, running 2.1`. */
  describe(): string {
    return (
      this.states
        .entries()
        .map(([state, count]) => [state, count / Math.max(1, this.samples)] as const)
        .filter(([, average]) => average >= 0.05)
        .sort(([, a], [, b]) => b - a)
        .map(([state, average]) => `${state} ${average.toFixed(1)}`)
        .join(', ') || '-'
    );
  }

  private async sample(): Promise<void> {
    const { rows } = await this.client!.query<{ state: string }>(
      `SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, 'running')
                   WHEN state = 'idle' THEN 'idle (ClientRead)'
                   ELSE coalesce(state, 'unknown') END AS state
         FROM pg_stat_activity
        WHERE application_name = $1 AND datname = current_database()`,
      [this.applicationName],
    );
    this.samples++;
    for (const { state } of rows) this.states.add(state);
  }
}
