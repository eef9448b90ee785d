// `npm run rabbitmq:apply-local -- [--vhost NAME] [--admin USER] [--services-may-declare]`: imports the
// topology, the queue limit policies, one user per service, their permissions and tags into a vhost of the
// local broker (@shop/local-cluster's applyLocalDefinitions). Additive only: no other vhost is touched and
// no user is deleted. --services-may-declare (test vhosts only) gives the service users every right there.
import { applyLocalDefinitions, type ApplyLocalDefinitionsOptions } from '@shop/local-cluster';

function parseArguments(argv: string[]): ApplyLocalDefinitionsOptions {
  const options: ApplyLocalDefinitionsOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => {
      const given = inline ?? argv[++i];
      if (!given) throw new Error(`${flag} needs a value`);
      return given;
    };
    if (flag === '--vhost') options.vhost = value();
    else if (flag === '--admin') options.adminUser = value();
    else if (flag === '--services-may-declare') options.servicesMayDeclare = true;
    else
      throw new Error(
        `unknown argument ${argv[i]}; usage: npm run rabbitmq:apply-local -- [--vhost NAME] [--admin USER] [--services-may-declare]`,
      );
  }
  return options;
}

async function main(): Promise<void> {
  const applied = await applyLocalDefinitions(parseArguments(process.argv.slice(2)));
  const { vhost, adminUser } = applied;
  console.log(
    `Imported into the local broker's vhost "${vhost}"${applied.vhostCreated ? ' (created)' : ''}:`,
  );
  console.log(
    `  topology: ${applied.exchanges} exchanges, ${applied.queues} queues, ${applied.bindings} bindings (libs/contracts/src/topology.ts)`,
  );
  console.log(`  queue limit policies: ${applied.policies.join(', ')} (QUEUE_LIMIT_POLICIES)`);
  for (const user of applied.users) {
    console.log(
      `  user ${user.name.padEnd(14)} password from ${user.passwordSource.padEnd(32)} configure ${user.configure}  write ${user.write}  read ${user.read}${user.tags.length > 0 ? `  tags ${user.tags.join(',')}` : ''}`,
    );
  }
  console.log(
    `  ${adminUser} keeps configure/write/read .* on "${vhost}"; no other user or vhost was changed.`,
  );
  console.log(
    `Run a service as its user: RABBITMQ_URL=amqp://notify-worker:<password>@127.0.0.1:5672/${encodeURIComponent(vhost)} RABBITMQ_DECLARE_TOPOLOGY=false`,
  );
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(`rabbitmq:apply-local: ${error.message}`);
    process.exit(1);
  });
}
