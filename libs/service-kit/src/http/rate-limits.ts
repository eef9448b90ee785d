import rateLimit from '@fastify/rate-limit';
import { HttpStatus, type OnModuleInit } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../api-error';

/** At most `max` requests per `timeWindowMs`, counted per key. */
export interface RateLimit {
  max: number;
  timeWindowMs: number;
  /**
   * What is counted: by default the client's address (`request.ip`, which follows X-Forwarded-For only
   * from a trusted proxy: createServiceApp's `trustProxy`).
   */
  keyOf?: (request: FastifyRequest) => string | Promise<string>;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/**
 * Named limits, counted by @fastify/rate-limit in this process (each limit remembers the keys counted
 * most recently, the plugin's 5,000: a key that keeps hammering stays counted). Registered with
 * `global: false` and used through its createRateLimit, so the answer is ours: see `rateLimited`.
 * A module provides it with `useFactory` and the app's Fastify (HttpAdapterHost), and Nest calls
 * onModuleInit, which registers the plugin.
 */
export class RateLimits<Name extends string> implements OnModuleInit {
  private fastify: FastifyInstance | undefined;
  private readonly limiters = new Map<Name, Limiter>();

  constructor(
    private readonly limits: Readonly<Record<Name, RateLimit>>,
    private readonly fastifyOf: () => FastifyInstance,
  ) {}

  onModuleInit(): void {
    this.fastify = this.fastifyOf();
    // Not awaited: Fastify loads it with the rest when it starts. Awaiting it here loaded Nest's routes
    // before Nest set its error handler, so their errors got Fastify's default body, without our `code`.
    void this.fastify.register(rateLimit, { global: false });
  }

  /** Counts the request; undefined while within the limit, else the seconds until it may be retried. */
  async exceeded(name: Name, request: FastifyRequest): Promise<number | undefined> {
    const result = await (this.limiters.get(name) ?? this.limiterOf(name))(request);
    if (result.isAllowed || !result.isExceeded) return undefined;
    return Math.max(1, result.ttlInSeconds);
  }

  /** Made on first use: the plugin's createRateLimit exists once Fastify has loaded it. */
  private limiterOf(name: Name): Limiter {
    if (!this.fastify) throw new Error('rate limits are not set up: onModuleInit has not run');
    const { max, timeWindowMs, keyOf } = this.limits[name];
    const limiter = this.fastify.createRateLimit({
      max,
      timeWindow: timeWindowMs,
      ...(keyOf ? { keyGenerator: keyOf } : {}),
    });
    this.limiters.set(name, limiter);
    return limiter;
  }
}

/** 429 RATE_LIMITED with Retry-After (header and `retryAfterSeconds`). */
export function rateLimited(reply: FastifyReply, retryAfterSeconds: number, message: string): ApiError {
  void reply.header('retry-after', String(retryAfterSeconds));
  return new ApiError(HttpStatus.TOO_MANY_REQUESTS, 'RATE_LIMITED', message, { retryAfterSeconds });
}
