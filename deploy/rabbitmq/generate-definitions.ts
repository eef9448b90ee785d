// Writes the broker provisioning files of the Docker deployment from the contract's topology.
// Relative import: the builder is deliberately not exported from @shop/contracts' index.
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { renderRabbitmqDefinitions, renderServiceUsers } from '../../libs/contracts/src/rabbitmq-definitions';

const files = {
  'definitions.json': renderRabbitmqDefinitions(),
  'service-users.txt': renderServiceUsers(),
};

for (const [name, content] of Object.entries(files)) {
  const path = join(__dirname, name);
  writeFileSync(path, content);
  console.log(`wrote ${relative(process.cwd(), path)}`);
}
