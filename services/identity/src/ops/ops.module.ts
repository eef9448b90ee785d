import { DynamicModule, Module } from '@nestjs/common';
import { OPS_TOKEN, OperatorGuard } from '@shop/service-kit';
import { CustomersModule } from '../customers/customers.module';
import { TokensModule } from '../tokens/tokens.module';
import { OpsTokensController } from './ops-tokens.controller';

@Module({})
export class OpsModule {
  static forRoot(opsToken: string): DynamicModule {
    return {
      module: OpsModule,
      imports: [CustomersModule, TokensModule],
      controllers: [OpsTokensController],
      providers: [{ provide: OPS_TOKEN, useValue: opsToken }, OperatorGuard],
    };
  }
}
