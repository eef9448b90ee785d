import { Controller, Get, HttpStatus, Inject, Param, Req, Res, UseGuards } from '@nestjs/common';
import { Queues, type Topology } from '@shop/contracts';
import { ApiError } from '@shop/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DashboardAuth } from '../auth/dashboard-auth';
import { DashboardOperatorGuard } from '../auth/dashboard-operator.guard';
import { cookieValueOf, SESSION_COOKIE } from '../auth/operator-session';
import { SnapshotCollector } from '../snapshot/snapshot.collector';
import { defaultExchangeQueues, WATCHED_TOPOLOGY } from '../sources/watched-topology';
import type { DashboardSnapshot } from '../snapshot/snapshot';
import { dashboardPage, PUBLIC_DIR, signInPage } from './page-html';

const UPLOT_DIR = join(dirname(require.resolve('uplot/package.json')), 'dist');

/** Every file the page loads, served from this process: no CDN, nothing fetched from elsewhere. */
const ASSETS: Record<string, { path: string; type: string }> = {
  'dashboard.js': { path: join(PUBLIC_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { path: join(PUBLIC_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  'follow.js': { path: join(PUBLIC_DIR, 'follow.js'), type: 'text/javascript; charset=utf-8' },
  'follow.css': { path: join(PUBLIC_DIR, 'follow.css'), type: 'text/css; charset=utf-8' },
  'uPlot.iife.min.js': { path: join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** Which service consumes each queue, for the diagram's right-hand column. */
const CONSUMERS: Record<string, string> = {
  [Queues.orderNotify]: 'notify-worker',
  [Queues.orderReport]: 'report-worker',
  [Queues.orderStatus]: 'order-api',
  [Queues.customerNotify]: 'notify-worker',
  [Queues.orderDeadlines]: 'order-api',
  [Queues.paymentRequests]: 'payment',
  [Queues.orderPayments]: 'order-api',
  [Queues.reportRpc]: 'report-worker',
  [Queues.logArchive]: 'log-aggregator',
  [Queues.logAlerts]: 'log-aggregator',
};

@Controller()
export class PageController {
  constructor(
    private readonly collector: SnapshotCollector,
    private readonly auth: DashboardAuth,
    @Inject(WATCHED_TOPOLOGY) private readonly watched: Topology,
  ) {}

  /** The live page for an operator; the sign-in form (401, or 403 for a wrong token) for anyone else. */
  @Get()
  page(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    let operator: ReturnType<DashboardAuth['authenticate']>;
    try {
      operator = this.auth.authenticate(request);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // A first visit gets the bare form; a wrong token or an ended session is told why.
      const hasCookie = cookieValueOf(request.headers.cookie, SESSION_COOKIE) !== undefined;
      const message = error.getStatus() === 403 || hasCookie ? error.body.message : undefined;
      signInPage(reply.code(error.getStatus()), message);
      return;
    }
    dashboardPage(reply, operator.via === 'session' ? operator.session.csrfToken : undefined);
  }

  /** Scripts, styles and the uPlot library: open, they hold nothing but code (the sign-in form uses the CSS). */
  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() reply: FastifyReply): void {
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) throw new ApiError(HttpStatus.NOT_FOUND, 'ASSET_NOT_FOUND', `No asset "${name}".`);
    void reply.type(asset.type).header('cache-control', 'no-cache').send(readFileSync(asset.path));
  }

  /**
   * The broker topology the diagram draws: exchanges, queues, bindings, each queue's consumer, and the
   * queues published to through the default exchange, which no binding shows.
   */
  @Get('api/topology')
  @UseGuards(DashboardOperatorGuard)
  topology() {
    return {
      ...this.watched,
      consumers: CONSUMERS,
      defaultExchangeQueues: defaultExchangeQueues(this.watched),
    };
  }

  /** The newest snapshot, as the event stream sends it (for scripts and curl). */
  @Get('api/snapshot')
  @UseGuards(DashboardOperatorGuard)
  snapshot(): DashboardSnapshot {
    const latest = this.collector.latest;
    if (!latest)
      throw new ApiError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'NO_SNAPSHOT_YET',
        'The first snapshot is still being taken.',
      );
    return latest;
  }
}
