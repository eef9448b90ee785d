// Writes the broker provisioning files of the Docker deployment from the contract's topology.
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  buildRabbitmqDefinitions,
  CLUSTER_TOPOLOGY,
  renderRabbitmqDefinitions,
  renderServiceUsers,
} from '@shop/contracts';

const files = {
  'definitions.json': renderRabbitmqDefinitions(),
  // The compose profile `cluster`: quorum queues replicated on its three nodes.
  'cluster-definitions.json': renderRabbitmqDefinitions(buildRabbitmqDefinitions(CLUSTER_TOPOLOGY)),
  'service-users.txt': renderServiceUsers(),
};

for (const [name, content] of Object.entries(files)) {
  const path = join(__dirname, name);
  writeFileSync(path, content);
  console.log(`wrote ${relative(process.cwd(), path)}`);
}
