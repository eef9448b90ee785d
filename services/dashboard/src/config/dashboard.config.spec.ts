import { ConfigError } from '@shop/config';
import { loadDashboardConfig } from './dashboard.config';

const required = { OPS_TOKEN: 'an-operator-token-of-enough-length-0123456789' };

describe('dashboard config', () => {
  it('watches every service on its own port by default, the payment service on 3006 among them', () => {
    const config = loadDashboardConfig(required);
    expect(config.DASHBOARD_TARGETS.map((t) => `${t.instance}=${t.url}`)).toEqual([
      'order-api=http://127.0.0.1:3000',
      'notify-worker=http://127.0.0.1:3001',
      'report-worker=http://127.0.0.1:3002',
      'log-aggregator=http://127.0.0.1:3003',
      'identity=http://127.0.0.1:3005',
      'payment=http://127.0.0.1:3006',
    ]);
    expect(config.PAYMENT_WINDOW_MS).toBe(15 * 60 * 1000);
    // A flash sale's customers are signed in by identity, on its own port under npm start.
    expect(config.IDENTITY_URL).toBe('http://127.0.0.1:3005');
    expect(loadDashboardConfig({ ...required, IDENTITY_URL: 'http://identity:3005/' }).IDENTITY_URL).toBe(
      'http://identity:3005',
    );
    expect(() => loadDashboardConfig({ ...required, IDENTITY_URL: 'identity:3005' })).toThrow(/IDENTITY_URL/);
    // A sale's audit reads the load test's own default database unless told one.
    expect(config.SALES_DATABASE_URL).toBeUndefined();
    expect(
      loadDashboardConfig({ ...required, SALES_DATABASE_URL: 'postgresql://shop@db:5432/orders' })
        .SALES_DATABASE_URL,
    ).toBe('postgresql://shop@db:5432/orders');
  });

  it('takes a payment replica as a target, and refuses a payment window out of bounds', () => {
    const config = loadDashboardConfig({
      ...required,
      DASHBOARD_TARGETS: 'payment-2=http://127.0.0.1:3206/',
      PAYMENT_WINDOW_MS: '2000',
    });
    expect(config.DASHBOARD_TARGETS).toEqual([
      { instance: 'payment-2', service: 'payment', url: 'http://127.0.0.1:3206' },
    ]);
    expect(config.PAYMENT_WINDOW_MS).toBe(2_000);
    expect(() => loadDashboardConfig({ ...required, PAYMENT_WINDOW_MS: '999' })).toThrow(ConfigError);
    expect(() => loadDashboardConfig({ ...required, PAYMENT_WINDOW_MS: '999' })).toThrow(/PAYMENT_WINDOW_MS/);
  });
});
