import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const METRICS_OPTIONS = Symbol('METRICS_OPTIONS');

export interface MetricsOptions {
  /** The `service` label on every series, e.g. `order-api`. */
  service: string;
}

/**
 * One service's Prometheus registry (prom-client), scraped at `GET /metrics`: Node's process metrics
 * (CPU, memory, event-loop lag, GC) and the counters the code registers here. A registry per app, not
 * prom-client's global one, so two apps in one process (specs) do not share series.
 */
@Injectable()
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter<string>>();
  private readonly histograms = new Map<string, Histogram<string>>();
  private readonly gauges = new Map<string, Gauge<string>>();

  constructor(@Inject(METRICS_OPTIONS) options: MetricsOptions) {
    this.registry.setDefaultLabels({ service: options.service });
    collectDefaultMetrics({ register: this.registry });
  }

  /** The counter `name`, registered on first use. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter<string> {
    let counter = this.counters.get(name);
    if (!counter) {
      counter = new Counter({ name, help, labelNames, registers: [this.registry] });
      this.counters.set(name, counter);
    }
    return counter;
  }

  /**
   * A gauge read when scraped: `read` runs on every scrape. When it fails the gauge is NaN (unknown),
   * so a scrape never fails because, say, the database is down.
   */
  gaugeReadOnScrape(name: string, help: string, read: () => Promise<number>): Gauge {
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read().catch(() => NaN));
      },
    });
  }

  /**
   * A labelled gauge read when scraped: `read` returns a value per label value (`{ placed: 3, … }`).
   * When it fails the series keep no value rather than failing the scrape.
   */
  gaugesReadOnScrape(
    name: string,
    help: string,
    labelName: string,
    read: () => Promise<Record<string, number>>,
  ): Gauge {
    return new Gauge({
      name,
      help,
      labelNames: [labelName],
      registers: [this.registry],
      async collect() {
        const values = await read().catch(() => undefined);
        this.reset();
        for (const [label, value] of Object.entries(values ?? {})) this.set({ [labelName]: label }, value);
      },
    });
  }

  /** The gauge `name`, registered on first use (for values the code moves itself, such as work in progress). */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge<string> {
    let gauge = this.gauges.get(name);
    if (!gauge) {
      gauge = new Gauge({ name, help, labelNames, registers: [this.registry] });
      this.gauges.set(name, gauge);
    }
    return gauge;
  }

  /** The histogram `name` (seconds), registered on first use. */
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: number[] = LATENCY_BUCKETS_SECONDS,
  ): Histogram<string> {
    let histogram = this.histograms.get(name);
    if (!histogram) {
      histogram = new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
      this.histograms.set(name, histogram);
    }
    return histogram;
  }
}

/** 1 ms to 10 s: a request or a message here takes milliseconds, a queue backlog can make it seconds. */
export const LATENCY_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
