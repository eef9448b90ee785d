import { booleanVariable, portVariable, secretVariable, smtpUrlVariable } from '@shop/config';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeEnvironmentProblems, composeServices, secretStandIn } from './compose-environment';

describe('composeEnvironmentProblems', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'compose-')), 'docker-compose.yml');
  writeFileSync(
    file,
    `x-common: &common
  PORT: '3001'
services:
  worker:
    build: { context: ., args: { SERVICE: notify-worker } }
    environment:
      <<: *common
      SMTP_URL: \${SMTP_URL:-smtp://mailpit:1025}
      SMTP_URLL: smtp://typo:25
      TOKEN: \${SHOP_TOKEN:?run npm run secrets}
  broken:
    build: { context: ., args: { SERVICE: notify-worker } }
    environment:
      PORT: 'seventy'
`,
  );
  const shape = {
    PORT: portVariable(3001),
    SMTP_URL: smtpUrlVariable(),
    DECLARE: booleanVariable(true),
    TOKEN: secretVariable(),
  };

  it('reads services with merged anchors and compose defaults', () => {
    expect(composeServices(file)).toEqual([
      {
        name: 'worker',
        app: 'notify-worker',
        command: undefined,
        environment: {
          PORT: '3001',
          SMTP_URL: 'smtp://mailpit:1025',
          SMTP_URLL: 'smtp://typo:25',
          TOKEN: secretStandIn('SHOP_TOKEN'),
        },
      },
      { name: 'broken', app: 'notify-worker', command: undefined, environment: { PORT: 'seventy' } },
    ]);
  });

  it('gives a required secret a stand-in as long as a generated one', () => {
    expect(secretStandIn('SHOP_TOKEN')).toHaveLength(43);
  });

  it('names a variable the app does not read, a required one missing and a bad value', () => {
    const [worker, broken] = composeServices(file);
    expect(composeEnvironmentProblems(worker, shape)).toEqual([
      'worker: SMTP_URLL is not a variable notify-worker reads',
    ]);
    expect(composeEnvironmentProblems(broken, shape)).toEqual([
      expect.stringMatching(/^broken: PORT: .*\(got "seventy"\)$/),
      expect.stringMatching(/^broken: SMTP_URL: .*\(got unset\)$/),
      expect.stringMatching(/^broken: TOKEN: .*\(got unset\)$/),
    ]);
  });
});
