import { DynamicModule, Module } from '@nestjs/common';
import { ServiceMetrics } from '@shop/service-kit';
import { PAYMENT_PROVIDER, type PaymentProvider } from '../provider/payment-provider';
import { SandboxPaymentProvider } from '../provider/sandbox-payment.provider';
import { PaymentRequestHandler } from './payment-request.handler';
import { PaymentResultPublisher } from './payment-result.publisher';
import { PaymentRepository } from './payment.repository';
import { PaymentsService, type PaymentsOptions } from './payments.service';

@Module({})
export class PaymentsModule {
  static forRoot(options: PaymentsOptions): DynamicModule {
    return {
      module: PaymentsModule,
      providers: [
        // The built-in sandbox: the only provider this service has (docs/api.md lists its test cards).
        { provide: PAYMENT_PROVIDER, useClass: SandboxPaymentProvider },
        PaymentRepository,
        PaymentResultPublisher,
        {
          provide: PaymentsService,
          useFactory: (
            repository: PaymentRepository,
            provider: PaymentProvider,
            results: PaymentResultPublisher,
            metrics?: ServiceMetrics,
          ) => new PaymentsService(repository, provider, results, options, metrics),
          inject: [
            PaymentRepository,
            PAYMENT_PROVIDER,
            PaymentResultPublisher,
            { token: ServiceMetrics, optional: true },
          ],
        },
        PaymentRequestHandler,
      ],
    };
  }
}
