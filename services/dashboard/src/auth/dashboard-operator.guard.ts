import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { ApiError } from '@shop/service-kit';
import type { FastifyRequest } from 'fastify';
import { DashboardAuth } from './dashboard-auth';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Operators only (DashboardAuth). A change (POST, DELETE) takes a JSON body when it has one, which a
 * form on another site cannot send, and with the session cookie also needs the CSRF check.
 */
@Injectable()
export class DashboardOperatorGuard implements CanActivate {
  constructor(private readonly auth: DashboardAuth) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const operator = this.auth.authenticate(request);
    if (SAFE_METHODS.has(request.method)) return true;
    if (
      request.method === 'POST' &&
      !/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')
    ) {
      throw new ApiError(
        HttpStatus.UNSUPPORTED_MEDIA_TYPE,
        'UNSUPPORTED_MEDIA_TYPE',
        'Send a JSON body (Content-Type: application/json), {} when there is nothing to say.',
      );
    }
    if (operator.via === 'session') this.auth.checkCsrf(request, operator.session);
    return true;
  }
}
