import { MessageHandlerErrorBehavior, RabbitMQModule } from '@golevelup/nestjs-rabbitmq';
import { DynamicModule, Logger, Module } from '@nestjs/common';
import { brokerConnectionOptions } from '@shop/broker';
import { rabbitmqNodesOf } from '@shop/config';
import { TOPOLOGY } from '@shop/contracts';
import { BrokerHealthCheck } from './broker.health';
import { ConfirmedPublisher } from './confirmed-publisher';
import { OrderStatusPublisher } from './order-status.publisher';
import { BatchConsumer } from './consumer/batch-consumer';
import { ConsumerRuntime } from './consumer/consumer-runtime';
import { RpcServer } from './consumer/rpc-server';
import { WorkQueueProcessor } from './consumer/work-queue-processor';
import { WorkQueueSubscriber } from './consumer/work-queue-subscriber';
import { toGolevelupTopology } from './golevelup-topology';
import { MESSAGING_OPTIONS, type MessagingOptions } from './messaging.options';

@Module({})
export class MessagingModule {
  static forRoot(options: MessagingOptions): DynamicModule {
    const rabbit = RabbitMQModule.forRoot({
      // One node or a cluster's nodes: amqp-connection-manager fails over between them.
      uri: rabbitmqNodesOf(options.url),
      prefetchCount: options.prefetchCount ?? 10,
      // Start even when the broker is down: the outbox keeps orders safe and health reports "not ready".
      connectionInitOptions: { wait: false },
      connectionManagerOptions: brokerConnectionOptions(options.appId),
      ...(options.declareTopology ? toGolevelupTopology(TOPOLOGY) : {}),
      // golevelup's default is REQUEUE, which loops forever on a poison message.
      defaultSubscribeErrorBehavior: MessageHandlerErrorBehavior.NACK,
      enableControllerDiscovery: true,
      // golevelup's RPC stays off (RpcServer serves); direct reply-to would need rights a least-privilege user lacks.
      enableDirectReplyTo: false,
      logger: new Logger('RabbitMQ'),
    });
    return {
      module: MessagingModule,
      global: true,
      imports: [rabbit],
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: options },
        ConfirmedPublisher,
        OrderStatusPublisher,
        BrokerHealthCheck,
        ConsumerRuntime,
        WorkQueueProcessor,
        WorkQueueSubscriber,
        RpcServer,
        BatchConsumer,
      ],
      exports: [
        OrderStatusPublisher,
        rabbit,
        MESSAGING_OPTIONS,
        ConfirmedPublisher,
        BrokerHealthCheck,
        WorkQueueProcessor,
        WorkQueueSubscriber,
        RpcServer,
        BatchConsumer,
      ],
    };
  }
}
