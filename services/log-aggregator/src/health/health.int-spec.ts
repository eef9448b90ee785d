import { describeServiceStartUp, startHttpApp, testSecrets } from '@shop/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadLogAggregatorConfig } from '../config/log-aggregator.config';

// Whatever waits in log_archive meanwhile is archived here, not in the repository's var/logs.
const logDir = mkdtempSync(join(tmpdir(), 'log-aggregator-health-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

describeServiceStartUp(SERVICE_NAME, ['broker', 'archive'], (rabbitmqUrl) =>
  startHttpApp(
    AppModule.forRoot(
      loadLogAggregatorConfig({
        RABBITMQ_URL: rabbitmqUrl,
        LOG_DIR: logDir,
        OPS_TOKEN: testSecrets.OPS_TOKEN,
      }),
    ),
    {
      service: SERVICE_NAME,
    },
  ),
);
