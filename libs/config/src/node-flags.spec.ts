import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_NODE_FLAGS } from './node-flags';

describe('SERVICE_NODE_FLAGS', () => {
  it('are the flags the Docker image starts every service with', () => {
    const dockerfile = readFileSync(join(__dirname, '../../../deploy/docker/Dockerfile'), 'utf8');
    const cmd = dockerfile.split('\n').find((line) => line.startsWith('CMD '));
    expect(cmd).toContain(`exec node ${SERVICE_NODE_FLAGS.join(' ')} services/`);
  });

  it('are accepted by this Node (a misspelt V8 flag stops node at start)', () => {
    expect(
      execFileSync(process.execPath, [...SERVICE_NODE_FLAGS, '-e', 'process.stdout.write("ok")']).toString(),
    ).toBe('ok');
  });
});
