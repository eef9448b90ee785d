import { Module } from '@nestjs/common';
import { CustomerTokenIssuer } from './customer-token.issuer';
import { JwksController } from './jwks.controller';
import { SigningKeyStore } from './signing-key.store';

@Module({
  controllers: [JwksController],
  providers: [SigningKeyStore, CustomerTokenIssuer],
  exports: [CustomerTokenIssuer],
})
export class TokensModule {}
