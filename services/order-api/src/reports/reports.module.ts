import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Global, Module } from '@nestjs/common';
import { MESSAGING_OPTIONS, type MessagingOptions } from '@shop/messaging';
import { ReportRpcClient } from './report-rpc.client';

/** The PDF of an order, asked of report-worker over RPC (report_rpc). Global: /health shows its counts. */
@Global()
@Module({
  providers: [
    {
      provide: ReportRpcClient,
      useFactory: (amqp: AmqpConnection, options: MessagingOptions) =>
        new ReportRpcClient(amqp, options.appId),
      inject: [AmqpConnection, MESSAGING_OPTIONS],
    },
  ],
  exports: [ReportRpcClient],
})
export class ReportsModule {}
