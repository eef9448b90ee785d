import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Injectable } from '@nestjs/common';

/** Ready when the managed AMQP connection is up (it reconnects by itself after a drop). */
@Injectable()
export class BrokerHealthCheck {
  readonly name = 'broker';

  constructor(private readonly amqp: AmqpConnection) {}

  async check(): Promise<void> {
    if (!this.amqp.managedConnection?.isConnected()) throw new Error('not connected to RabbitMQ');
  }
}
