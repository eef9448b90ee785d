import { type DatabaseService, serviceDatabaseUrl } from './database-roles';
import {
  allowedHostsVariable,
  booleanVariable,
  databaseUrlVariable,
  hostVariable,
  LOCAL_DEFAULTS,
  portVariable,
  rabbitmqUrlVariable,
  SERVICE_PORTS,
} from './variables';

/** The variables of a service's HTTP server (health, metrics and its API), spread into its config shape. */
export const httpServerVariables = (service: keyof typeof SERVICE_PORTS) => ({
  PORT: portVariable(SERVICE_PORTS[service]),
  /** The interface to listen on: 127.0.0.1 under npm start, 0.0.0.0 inside a container. */
  HOST: hostVariable(),
  /** Host names requests may name (any port); others get 421 HOST_NOT_ALLOWED. */
  ALLOWED_HOSTS: allowedHostsVariable(),
});

/** The database of a service that owns one: its own role, with rights on its own schema only. */
export const ownDatabaseVariables = (service: DatabaseService) => ({
  DATABASE_URL: databaseUrlVariable(serviceDatabaseUrl(LOCAL_DEFAULTS.databaseUrl, service)),
});

/** The broker of a service that consumes or publishes: its URL (a node list on a cluster), and the topology. */
export const brokerVariables = () => ({
  RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
  /** Declare exchanges and queues at start; off where the broker's definitions file owns the topology. */
  RABBITMQ_DECLARE_TOPOLOGY: booleanVariable(true),
});
