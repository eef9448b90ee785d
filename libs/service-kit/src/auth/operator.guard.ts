import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { authenticationRequired, bearerTokenOf, forbidden, secretsEqual } from './bearer-token';

/** Injection token of the operator token (OPS_TOKEN) a module's OperatorGuard checks against. */
export const OPS_TOKEN = Symbol('OPS_TOKEN');

/** True when the request carries the operator token as `Authorization: Bearer`. */
export function isOperatorRequest(request: Pick<FastifyRequest, 'headers'>, opsToken: string): boolean {
  const token = bearerTokenOf(request.headers);
  return token !== undefined && secretsEqual(token, opsToken);
}

/**
 * Lets a request through only with the operator token: none gives 401 AUTHENTICATION_REQUIRED, any
 * other token 403 FORBIDDEN. The module provides OPS_TOKEN (`{ provide: OPS_TOKEN, useValue }`).
 */
@Injectable()
export class OperatorGuard implements CanActivate {
  constructor(@Inject(OPS_TOKEN) private readonly opsToken: string) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const token = bearerTokenOf(request.headers);
    if (token === undefined)
      throw authenticationRequired('This needs the operator token: Authorization: Bearer <OPS_TOKEN>.');
    if (!secretsEqual(token, this.opsToken)) throw forbidden('Only an operator may do this.');
    return true;
  }
}
