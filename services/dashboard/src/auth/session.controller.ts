import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiError } from '@shop/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { signInPage } from '../page/page-html';
import { DashboardAuth } from './dashboard-auth';
import { DashboardOperatorGuard } from './dashboard-operator.guard';

const isForm = (request: FastifyRequest) =>
  /^application\/x-www-form-urlencoded\s*(;|$)/i.test(request.headers['content-type'] ?? '');

/** Signing in and out of the dashboard with the operator token. */
@Controller('session')
export class SessionController {
  constructor(private readonly auth: DashboardAuth) {}

  /**
   * `POST /session` with `{ "token": "<OPS_TOKEN>" }` (JSON, 200 with the CSRF token) or the sign-in
   * form (303 to the page): sets the session cookie. 403 FORBIDDEN for another token.
   */
  @Post()
  signIn(@Body() body: unknown, @Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    const form = isForm(request);
    if (!form && !/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
      throw new ApiError(
        HttpStatus.UNSUPPORTED_MEDIA_TYPE,
        'UNSUPPORTED_MEDIA_TYPE',
        'Send JSON or the sign-in form.',
      );
    }
    const token = typeof body === 'object' && body !== null ? (body as { token?: unknown }).token : undefined;
    let signedIn: ReturnType<DashboardAuth['signIn']>;
    try {
      signedIn = this.auth.signIn(token);
    } catch (error) {
      if (!form || !(error instanceof ApiError)) throw error;
      void signInPage(reply.code(error.getStatus()), error.body.message);
      return;
    }
    void reply.header('set-cookie', this.auth.sessionCookie(request, signedIn.cookieValue));
    if (form) void reply.code(HttpStatus.SEE_OTHER).header('location', '/').send();
    else void reply.code(HttpStatus.OK).send({ signedIn: true, csrfToken: signedIn.session.csrfToken });
  }

  /** `GET /session`: 200 while signed in (the page asks when its event stream is refused), else 401. */
  @Get()
  @UseGuards(DashboardOperatorGuard)
  current(@Req() request: FastifyRequest): { signedIn: true; via: 'bearer' | 'session' } {
    return { signedIn: true, via: this.auth.authenticate(request).via };
  }

  /** `DELETE /session`: signs out (the cookie is removed and its session refused from now on). */
  @Delete()
  @UseGuards(DashboardOperatorGuard)
  @HttpCode(HttpStatus.NO_CONTENT)
  signOut(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): void {
    const operator = this.auth.authenticate(request);
    if (operator.via === 'session') this.auth.sessions.revoke(operator.session);
    void reply.header('set-cookie', this.auth.sessionCookie(request));
  }
}
