import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Res, UseGuards } from '@nestjs/common';
import { ApiError } from '@shop/service-kit';
import type { FastifyReply } from 'fastify';
import { readFile } from 'node:fs/promises';
import { DashboardOperatorGuard } from '../auth/dashboard-operator.guard';
import { reportPage } from '../page/page-html';
import type { SaleStatus } from '../snapshot/snapshot';
import { FlashSaleRunner } from './flash-sale.runner';
import { parseSaleForm } from './sale-form';

/** Operators only: a sale fires up to DASHBOARD_SALE_LIMITS requests at order-api. */
@Controller('sales')
@UseGuards(DashboardOperatorGuard)
export class SalesController {
  constructor(private readonly runner: FlashSaleRunner) {}

  /** Starts a flash sale: 202 with its status; 400 VALIDATION_FAILED per bad field; 409 SALE_RUNNING. */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  start(@Body() body: unknown): SaleStatus {
    return this.runner.start(parseSaleForm(body));
  }

  /** The running sale, or the last one with its verdict (what a reloaded page shows); 204 before the first. */
  @Get('current')
  current(@Res() reply: FastifyReply): void {
    const sale = this.runner.status();
    void (sale ? reply.send(sale) : reply.code(HttpStatus.NO_CONTENT).send());
  }

  /**
   * Stops firing: the orders accepted so far are still drained and checked. 409 NO_SALE_RUNNING. Takes a
   * JSON body (`{}`), which a form on another site cannot send.
   */
  @Post('current/stop')
  @HttpCode(HttpStatus.ACCEPTED)
  stop(): SaleStatus {
    return this.runner.stop();
  }

  /** The finished sale's report.html, as the command line writes it, under a policy allowing its own styles only. */
  @Get(':id/report.html')
  async report(@Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    const path = this.runner.reportPath(id);
    if (!path) throw new ApiError(HttpStatus.NOT_FOUND, 'REPORT_NOT_FOUND', `No report for sale "${id}".`);
    reportPage(reply, await readFile(path, 'utf8'));
  }
}
