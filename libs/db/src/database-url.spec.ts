import { databaseNameOf, redactDatabaseUrl, withDatabaseName } from './database-url';

describe('database URL helpers', () => {
  it('reads the database name', () => {
    expect(databaseNameOf('postgresql://postgres@127.0.0.1:5432/orders_test')).toBe('orders_test');
    expect(() => databaseNameOf('postgresql://postgres@127.0.0.1:5432/')).toThrow(/names no database/);
  });

  it('swaps the database and hides passwords', () => {
    expect(withDatabaseName('postgresql://u:secret@db:5432/orders?sslmode=disable', 'postgres')).toBe(
      'postgresql://u:secret@db:5432/postgres?sslmode=disable',
    );
    expect(redactDatabaseUrl('postgresql://u:secret@db:5432/orders')).toBe(
      'postgresql://u:***@db:5432/orders',
    );
  });
});
