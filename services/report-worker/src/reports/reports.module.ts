import { DynamicModule, Inject, Module, OnModuleInit } from '@nestjs/common';
import { OrderStatusPublisher, WorkQueueSubscriber } from '@shop/messaging';
import { OrderPlacedReportHandler, type ReportOptions } from './order-placed.handler';
import { loadReportFont } from './report-font';
import { ReportStore } from './report.store';

const REPORT_OPTIONS = Symbol('REPORT_OPTIONS');

@Module({})
export class ReportsModule implements OnModuleInit {
  constructor(@Inject(REPORT_OPTIONS) private readonly options: ReportOptions) {}

  /** Parses the CJK font (about 20 MB) at start, so the first message does not pay for it. */
  onModuleInit(): void {
    loadReportFont(this.options.font);
  }

  static forRoot(options: ReportOptions): DynamicModule {
    return {
      module: ReportsModule,
      providers: [
        { provide: REPORT_OPTIONS, useValue: options },
        ReportStore,
        {
          provide: OrderPlacedReportHandler,
          useFactory: (subscriber: WorkQueueSubscriber, store: ReportStore, status: OrderStatusPublisher) =>
            new OrderPlacedReportHandler(subscriber, store, status, options),
          inject: [WorkQueueSubscriber, ReportStore, OrderStatusPublisher],
        },
      ],
    };
  }
}
