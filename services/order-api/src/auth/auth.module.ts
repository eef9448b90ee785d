import { Global, Module } from '@nestjs/common';
import { OperatorGuard, OPS_TOKEN } from '@shop/service-kit';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import { CustomerTokenVerifier } from './customer-token.verifier';
import { PrincipalResolver } from './principal.resolver';

/** Operators, customers and order access tokens: who a request speaks for (PrincipalResolver). */
@Global()
@Module({
  providers: [
    CustomerTokenVerifier,
    PrincipalResolver,
    OperatorGuard,
    {
      provide: OPS_TOKEN,
      useFactory: (config: OrderApiConfig) => config.OPS_TOKEN,
      inject: [ORDER_API_CONFIG],
    },
  ],
  exports: [PrincipalResolver, OperatorGuard, OPS_TOKEN],
})
export class AuthModule {}
