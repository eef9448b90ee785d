import { Module } from '@nestjs/common';
import { TokensModule } from '../tokens/tokens.module';
import { ClientRateLimitGuard, clientRateLimitsProvider } from './client-rate-limit.guard';
import { SignInCodePublisher } from './sign-in-code.publisher';
import { SignInCodeRepository } from './sign-in-code.repository';
import { SignInController } from './sign-in.controller';
import { SignInService } from './sign-in.service';

@Module({
  imports: [TokensModule],
  controllers: [SignInController],
  providers: [
    SignInService,
    SignInCodeRepository,
    SignInCodePublisher,
    clientRateLimitsProvider,
    ClientRateLimitGuard,
  ],
})
export class SignInModule {}
