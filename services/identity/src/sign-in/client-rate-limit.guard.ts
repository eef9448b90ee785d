import {
  CanActivate,
  ExecutionContext,
  FactoryProvider,
  Inject,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { rateLimited, RateLimits } from '@shop/service-kit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IDENTITY_CONFIG, type IdentityConfig } from '../config/identity.config';

export type ClientLimitName = 'sign-in' | 'token';

const CLIENT_RATE_LIMIT = 'identity:client-rate-limit';
const CLIENT_RATE_LIMITS = Symbol('CLIENT_RATE_LIMITS');

/** Counts the route's requests per client (IP address) against the named limit. */
export const ClientRateLimit = (name: ClientLimitName) => SetMetadata(CLIENT_RATE_LIMIT, name);

/** The limits, per CLIENT_RATE_WINDOW_SECONDS, kept in this process (one counter per client IP). */
export const clientRateLimitsProvider: FactoryProvider<RateLimits<ClientLimitName>> = {
  provide: CLIENT_RATE_LIMITS,
  useFactory: (config: IdentityConfig, adapterHost: HttpAdapterHost) => {
    const timeWindowMs = config.CLIENT_RATE_WINDOW_SECONDS * 1000;
    return new RateLimits<ClientLimitName>(
      {
        'sign-in': { max: config.SIGN_IN_PER_CLIENT_LIMIT, timeWindowMs },
        token: { max: config.TOKEN_PER_CLIENT_LIMIT, timeWindowMs },
      },
      () => adapterHost.httpAdapter.getInstance<FastifyInstance>(),
    );
  },
  inject: [IDENTITY_CONFIG, HttpAdapterHost],
};

@Injectable()
export class ClientRateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(CLIENT_RATE_LIMITS) private readonly limits: RateLimits<ClientLimitName>,
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
