import type { RabbitMQConfig } from '@golevelup/nestjs-rabbitmq';
import type { Topology } from '@shop/contracts';

/** Translates the contract's topology into golevelup's declarative config (declared on every (re)connect). */
export function toGolevelupTopology(
  topology: Topology,
): Pick<RabbitMQConfig, 'exchanges' | 'exchangeBindings' | 'queues'> {
  return {
    exchanges: topology.exchanges.map(({ name, type, durable }) => ({
      name,
      type,
      createExchangeIfNotExists: true,
      options: { durable },
    })),
    exchangeBindings: topology.bindings
      .filter((binding) => binding.destinationType === 'exchange')
      .map(({ source, destination, routingKey }) => ({ source, destination, pattern: routingKey })),
    queues: topology.queues.map(({ name, durable, arguments: queueArguments }) => {
      const bindings = topology.bindings.filter(
        (b) => b.destinationType === 'queue' && b.destination === name,
      );
      const sources = [...new Set(bindings.map((b) => b.source))];
      if (sources.length > 1) {
        throw new Error(`Queue ${name} is bound to several exchanges; golevelup's queue config takes one`);
      }
      return {
        name,
        createQueueIfNotExists: true,
        options: { durable, arguments: queueArguments },
        ...(sources.length === 1 && { exchange: sources[0], routingKey: bindings.map((b) => b.routingKey) }),
      };
    }),
  };
}
