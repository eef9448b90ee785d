import { DynamicModule, Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { OrderStatusPublisher, RpcServer, WorkQueueSubscriber } from '@shop/messaging';
import { OrderPlacedReportHandler } from './order-placed.handler';
import { describeReportFont, loadReportFont } from './report-font';
import { ReportRpcServer, type ReportRpcOptions } from './report-rpc.server';
import { ReportWriter, type ReportOptions } from './report-writer';
import { ReportStore } from './report.store';

const REPORT_OPTIONS = Symbol('REPORT_OPTIONS');

@Module({})
export class ReportsModule implements OnModuleInit {
  private readonly logger = new Logger(ReportsModule.name);

  constructor(@Inject(REPORT_OPTIONS) private readonly options: ReportOptions) {}

  /** Parses the font files (33-40 MB) at start, so the first message does not pay for it. */
  onModuleInit(): void {
    loadReportFont(this.options.font);
    this.logger.log(`PDF font: ${describeReportFont(this.options.font)}`);
  }

  static forRoot(options: ReportOptions, rpc: ReportRpcOptions): DynamicModule {
    return {
      module: ReportsModule,
      providers: [
        { provide: REPORT_OPTIONS, useValue: options },
        ReportStore,
        {
          provide: ReportWriter,
          useFactory: (store: ReportStore, status: OrderStatusPublisher) =>
            new ReportWriter(store, status, options),
          inject: [ReportStore, OrderStatusPublisher],
        },
        {
          provide: OrderPlacedReportHandler,
          useFactory: (subscriber: WorkQueueSubscriber, store: ReportStore, writer: ReportWriter) =>
            new OrderPlacedReportHandler(subscriber, store, writer),
          inject: [WorkQueueSubscriber, ReportStore, ReportWriter],
        },
        {
          provide: ReportRpcServer,
          useFactory: (server: RpcServer, writer: ReportWriter) => new ReportRpcServer(server, writer, rpc),
          inject: [RpcServer, ReportWriter],
        },
      ],
    };
  }
}
