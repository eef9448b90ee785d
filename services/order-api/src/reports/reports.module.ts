import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Global, Module } from '@nestjs/common';
import { brokerUserOf } from '@shop/broker';
import { MESSAGING_OPTIONS, type MessagingOptions } from '@shop/messaging';
import { ServiceMetrics } from '@shop/service-kit';
import { ReportRpcClient } from './report-rpc.client';

/** The PDF of an order, asked of report-worker over RPC (report_rpc). Global: /health shows its counts. */
@Global()
@Module({
  providers: [
    {
      provide: ReportRpcClient,
      useFactory: (amqp: AmqpConnection, options: MessagingOptions, metrics?: ServiceMetrics) =>
        new ReportRpcClient(amqp, { appId: options.appId, userId: brokerUserOf(options.url) }, metrics),
      inject: [AmqpConnection, MESSAGING_OPTIONS, { token: ServiceMetrics, optional: true }],
    },
  ],
  exports: [ReportRpcClient],
})
export class ReportsModule {}
