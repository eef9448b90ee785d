export * from './database-errors';
export * from './database-url';
export * from './delete-older-than';
export * from './database.health';
export * from './db.module';
export * from './db.tokens';
export * from './group-commit';
export * from './pg-channel-listener';
export * from './pg-pool';
export * from './retry-while-unavailable';
export * from './migrations/apply-migrations';
export { Prisma, PrismaClient } from './generated/prisma/client';
export type {
  Order,
  OrderItem,
  OrderNotification,
  OrderReport,
  OutboxMessage,
  Product,
} from './generated/prisma/client';
export { OrderStatus } from './generated/prisma/enums';
export * from './migrations/service-role-passwords';
export * from './seed/catalogue';
export * from './seed/seed-catalogue';
