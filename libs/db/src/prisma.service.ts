import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from './generated/prisma/client';
import { PG_POOL } from './db.tokens';

/** Prisma's typed client, running over the shared `pg` pool (Prisma 7 driver adapter, no engine binary). */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) pool: Pool) {
    super({ adapter: new PrismaPg(pool) });
  }

  /** Not onModuleDestroy: that runs before consumers finish the messages they hold (beforeApplicationShutdown). */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
