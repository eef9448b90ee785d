import { serviceDatabaseEnv, serviceDatabaseUrl } from './database-roles';

describe('serviceDatabaseUrl', () => {
  it("keeps the server and database and logs in as the service's role, without the admin's password", () => {
    expect(
      serviceDatabaseUrl('postgresql://postgres:secret@db.local:6543/orders_test', 'notify-worker'),
    ).toBe('postgresql://notify_worker@db.local:6543/orders_test');
  });

  it('takes the password it is given, escaped for the URL', () => {
    expect(serviceDatabaseUrl('postgresql://postgres@127.0.0.1:5432/orders', 'order-api', 'p@ss/w:rd')).toBe(
      'postgresql://order_api:p%40ss%2Fw%3Ard@127.0.0.1:5432/orders',
    );
  });
});

describe('serviceDatabaseEnv', () => {
  it('gives a database service its role and log-aggregator, which has no database, nothing', () => {
    expect(serviceDatabaseEnv('report-worker', 'postgresql://postgres@127.0.0.1:5432/orders')).toEqual({
      DATABASE_URL: 'postgresql://report_worker@127.0.0.1:5432/orders',
    });
    expect(serviceDatabaseEnv('log-aggregator', 'postgresql://postgres@127.0.0.1:5432/orders')).toEqual({});
  });
});
