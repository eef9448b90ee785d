import rateLimit from '@fastify/rate-limit';
import {
  CanActivate,
  ExecutionContext,
  HttpStatus,
  Inject,
  Injectable,
  OnModuleInit,
  SetMetadata,
} from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { ApiError } from '@shop/service-kit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IDENTITY_CONFIG, type IdentityConfig } from '../config/identity.config';

export type ClientLimitName = 'sign-in' | 'token';

const CLIENT_RATE_LIMIT = 'identity:client-rate-limit';

/** Counts the route's requests per client (IP address) against the named limit. */
export const ClientRateLimit = (name: ClientLimitName) => SetMetadata(CLIENT_RATE_LIMIT, name);

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/**
 * @fastify/rate-limit's counters, one per limit, kept in this process (one per client IP). Registered
 * with `global: false` and used through its createRateLimit, so the answer is ours: 429 RATE_LIMITED.
 */
@Injectable()
export class ClientRateLimits implements OnModuleInit {
  private fastify: FastifyInstance | undefined;
  private readonly limiters: Partial<Record<ClientLimitName, Limiter>> = {};

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(IDENTITY_CONFIG) private readonly config: IdentityConfig,
  ) {}

  onModuleInit(): void {
    this.fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // Not awaited: Fastify loads it with the rest when it starts. Awaiting it here loaded Nest's routes
    // before Nest set its error handler, so their errors got Fastify's default body, without our `code`.
    void this.fastify.register(rateLimit, { global: false });
  }

  /** Counts the request; undefined while within the limit, else the seconds until the client may retry. */
  async exceeded(name: ClientLimitName, request: FastifyRequest): Promise<number | undefined> {
    const result = await this.limiter(name)(request);
    if (result.isAllowed || !result.isExceeded) return undefined;
    return Math.max(1, result.ttlInSeconds);
  }

  /** Made on first use: the plugin's createRateLimit exists once Fastify has loaded it. */
  private limiter(name: ClientLimitName): Limiter {
    const existing = this.limiters[name];
    if (existing) return existing;
    if (!this.fastify) throw new Error('client rate limits are not set up');
    const max =
      name === 'sign-in' ? this.config.SIGN_IN_PER_CLIENT_LIMIT : this.config.TOKEN_PER_CLIENT_LIMIT;
    const limiter = this.fastify.createRateLimit({
      max,
      timeWindow: this.config.CLIENT_RATE_WINDOW_SECONDS * 1000,
    });
    this.limiters[name] = limiter;
    return limiter;
  }
}

/** 429 RATE_LIMITED with Retry-After (header and `retryAfterSeconds`). */
export function rateLimited(reply: FastifyReply, retryAfterSeconds: number, message: string): ApiError {
  void reply.header('retry-after', String(retryAfterSeconds));
  return new ApiError(HttpStatus.TOO_MANY_REQUESTS, 'RATE_LIMITED', message, { retryAfterSeconds });
}

@Injectable()
export class ClientRateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limits: ClientRateLimits,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const name = this.reflector.get<ClientLimitName | undefined>(CLIENT_RATE_LIMIT, context.getHandler());
    if (!name) return true;
    const http = context.switchToHttp();
    const retryAfter = await this.limits.exceeded(name, http.getRequest<FastifyRequest>());
    if (retryAfter === undefined) return true;
    throw rateLimited(
      http.getResponse<FastifyReply>(),
      retryAfter,
      `Too many requests from this address; retry in ${retryAfter} s.`,
    );
  }
}
