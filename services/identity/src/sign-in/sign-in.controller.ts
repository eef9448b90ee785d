import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { SIGN_IN_CODE_TTL_MS } from '@shop/contracts';
import { rateLimited } from '@shop/service-kit';
import type { FastifyReply } from 'fastify';
import type { CustomerTokenResponse } from '../tokens/customer-token.issuer';
import { ClientRateLimit, ClientRateLimitGuard } from './client-rate-limit.guard';
import { SignInService } from './sign-in.service';
import { parseBody, SignInRequest, TokenRequest } from './sign-in.requests';

@Controller('customers')
@UseGuards(ClientRateLimitGuard)
export class SignInController {
  constructor(private readonly signIn: SignInService) {}

  /** 202 for any valid address, known or not: the answer never tells whether a customer exists. */
  @Post('sign-in')
  @HttpCode(202)
  @ClientRateLimit('sign-in')
  async requestCode(
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ message: string; expiresIn: number }> {
    const { email } = parseBody(SignInRequest, body);
    const outcome = await this.signIn.requestCode(email);
    if (!outcome.sent) {
      throw rateLimited(
        reply,
        outcome.retryAfterSeconds,
        `Too many sign-in codes for this address; retry in ${outcome.retryAfterSeconds} s.`,
      );
    }
    return {
      message: 'A sign-in code is on its way to that address. Exchange it at POST /customers/token.',
      expiresIn: SIGN_IN_CODE_TTL_MS / 1000,
    };
  }

  @Post('token')
  @HttpCode(200)
  @ClientRateLimit('token')
  async token(@Body() body: unknown): Promise<CustomerTokenResponse> {
    const { email, code } = parseBody(TokenRequest, body);
    return this.signIn.exchange(email, code);
  }
}
