import { Controller, Get, HttpStatus, Param, Res } from '@nestjs/common';
import { Queues, TOPOLOGY } from '@shop/contracts';
import { ApiError } from '@shop/service-kit';
import type { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SnapshotCollector } from '../snapshot/snapshot.collector';
import type { DashboardSnapshot } from '../snapshot/snapshot';

/** The page's own files: services/dashboard/public, beside src/ and dist/. */
const PUBLIC_DIR = join(__dirname, '../../public');
const UPLOT_DIR = join(dirname(require.resolve('uplot/package.json')), 'dist');

/** Every file the page loads, served from this process: no CDN, nothing fetched from elsewhere. */
const ASSETS: Record<string, { path: string; type: string }> = {
  'dashboard.js': { path: join(PUBLIC_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { path: join(PUBLIC_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  'uPlot.iife.min.js': { path: join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** Which service consumes each queue, for the diagram's right-hand column. */
const CONSUMERS: Record<string, string> = {
  [Queues.orderNotify]: 'notify-worker',
  [Queues.orderReport]: 'report-worker',
  [Queues.orderStatus]: 'order-api',
  [Queues.reportRpc]: 'report-worker',
  [Queues.logArchive]: 'log-aggregator',
  [Queues.logAlerts]: 'log-aggregator',
};

@Controller()
export class PageController {
  constructor(private readonly collector: SnapshotCollector) {}

  @Get()
  page(@Res() reply: FastifyReply): void {
    void reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(readFileSync(join(PUBLIC_DIR, 'index.html')));
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() reply: FastifyReply): void {
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) throw new ApiError(HttpStatus.NOT_FOUND, 'ASSET_NOT_FOUND', `No asset "${name}".`);
    void reply.type(asset.type).header('cache-control', 'no-cache').send(readFileSync(asset.path));
  }

  /** The broker topology the diagram draws: exchanges, queues, bindings and each queue's consumer. */
  @Get('api/topology')
  topology() {
    return { ...TOPOLOGY, consumers: CONSUMERS };
  }

  /** The newest snapshot, as the event stream sends it (for scripts and curl). */
  @Get('api/snapshot')
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
