import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haproxyConfig } from './load-balancer';

describe('haproxyConfig', () => {
  const config = haproxyConfig({
    port: 3000,
    backends: [
      { name: 'order-api-1', port: 3100 },
      { name: 'order-api-2', port: 3200 },
    ],
    dir: '/unused',
  });

  it('listens on loopback only and balances over every backend', () => {
    expect(config).toContain('bind 127.0.0.1:3000');
    expect(config).toContain('server order-api-1 127.0.0.1:3100');
    expect(config).toContain('server order-api-2 127.0.0.1:3200');
    expect(config).toMatch(/balance roundrobin/);
  });

  it("passes the client's address on in X-Forwarded-For, which the services' rate limits count by", () => {
    expect(config).toMatch(/^ {2}option forwardfor$/m);
  });

  it('counts any answer to /health as alive, and retries only connections that failed', () => {
    expect(config).toContain('option httpchk GET /health');
    expect(config).toContain('http-check expect rstatus ^(200|503)$');
    expect(config).toContain('timeout check 5s');
    expect(config).toMatch(/retry-on conn-failure\n/);
    // Never a retry of a request that reached a server (it may have placed an order).
    expect(config).not.toMatch(/retry-on .*(empty-response|response-timeout|all-retryable-errors)/);
  });

  it('is a configuration HAProxy itself accepts (haproxy -c)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'haproxy-config-'));
    try {
      const file = join(dir, 'haproxy.cfg');
      writeFileSync(file, config);
      expect(() => execFileSync('haproxy', ['-c', '-q', '-f', file], { stdio: 'pipe' })).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
