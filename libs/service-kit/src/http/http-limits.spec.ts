import { Controller, Get, Module, Post, Req } from '@nestjs/common';
import { currentCorrelationId, JsonLogger } from '@shop/logging';
import type { FastifyRequest } from 'fastify';
import { connect } from 'node:net';
import { createServiceApp, type ServiceAppOptions } from '../create-service-app';

@Controller()
class ProbeController {
  @Post('echo')
  echo(@Req() request: FastifyRequest): { requestId: string; correlationId?: string } {
    return { requestId: String(request.id), correlationId: currentCorrelationId() };
  }

  /** Answers after 1.5 s: a response may take longer than the request timeout. */
  @Get('slow')
  async slow(): Promise<{ ok: true }> {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    return { ok: true };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

async function start(options: Partial<ServiceAppOptions> = {}) {
  const app = await createServiceApp(ProbeModule, {
    logger: new JsonLogger('probe', { write: () => undefined }),
    ...options,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, port, baseUrl: `http://127.0.0.1:${port}` };
}

/** Sends `head` (and later `rest`) on a raw socket; resolves with all it received and when it closed. */
function rawExchange(port: number, head: string, rest?: { afterMs: number; text: string }) {
  return new Promise<{ text: string; closedAfterMs: number }>((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ text, closedAfterMs: Date.now() - started }));
    socket.write(head);
    if (rest) setTimeout(() => socket.writable && socket.write(rest.text), rest.afterMs);
    // Nothing here should take long: a socket still open after 10 s is a failure the assertions show.
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
}

const json = { 'content-type': 'application/json' };

describe('createServiceApp: request ids, timeouts, hosts and nosniff', () => {
  it('takes a sane X-Request-Id or X-Correlation-Id and replaces any other by a UUID, never failing', async () => {
    const { app, baseUrl } = await start();
    try {
      const echo = async (headers: Record<string, string>) => {
        const response = await fetch(`${baseUrl}/echo`, {
          method: 'POST',
          headers: { ...json, ...headers },
          body: '{}',
        });
        expect(response.status).toBe(201);
        return (await response.json()) as { requestId: string; correlationId: string };
      };
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

      expect(await echo({ 'x-request-id': 'r'.repeat(100) })).toEqual({
        requestId: 'r'.repeat(100),
        correlationId: 'r'.repeat(100),
      });
      expect(await echo({ 'x-correlation-id': 'corr-1' })).toEqual({
        requestId: 'corr-1',
        correlationId: 'corr-1',
      });
      for (const hostile of ['r'.repeat(101), 'x'.repeat(256), 'has space', 'tab\there', 'é']) {
        const ids = await echo({ 'x-request-id': hostile });
        expect(ids.requestId).toMatch(uuid);
        expect(ids.correlationId).toBe(ids.requestId);
      }
      const both = await echo({ 'x-request-id': 'x'.repeat(150), 'x-correlation-id': 'y'.repeat(150) });
      expect(both.requestId).toMatch(uuid);
    } finally {
      await app.close();
    }
  });

  it('cuts a body that arrives too slowly: 408 REQUEST_TIMEOUT with its code, connection closed', async () => {
    const { app, port } = await start({ requestTimeoutMs: 1_000 });
    try {
      const { text, closedAfterMs } = await rawExchange(
        port,
        'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
      );
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(text).toMatch(/connection: close/i);
      expect(text).toMatch(/x-content-type-options: nosniff/i);
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'REQUEST_TIMEOUT' });
      // The timeout and one check of Node's connection list (every second here), with room for a slow machine.
      expect(closedAfterMs).toBeGreaterThanOrEqual(900);
      expect(closedAfterMs).toBeLessThan(4_000);
    } finally {
      await app.close();
    }
  });

  it('lets a response take longer than the request timeout (it covers receiving the request only)', async () => {
    const { app, baseUrl } = await start({ requestTimeoutMs: 500 });
    try {
      const response = await fetch(`${baseUrl}/slow`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true });
    } finally {
      await app.close();
    }
  });

  it('refuses a Host that is not allowed with 421 HOST_NOT_ALLOWED; allowed names on any port and no Host pass', async () => {
    const { app, port } = await start({ allowedHosts: ['localhost', '127.0.0.1', '[::1]', 'order-api'] });
    try {
      const statusFor = async (hostLine: string) => {
        const { text } = await rawExchange(
          port,
          `GET /nope HTTP/1.${hostLine ? 1 : 0}\r\n${hostLine}Connection: close\r\n\r\n`,
        );
        return { status: Number(text.split(' ')[1]), text };
      };
      for (const host of [
        'localhost:3000',
        'LOCALHOST',
        '127.0.0.1:1',
        '[::1]:3004',
        'order-api:3000',
        'localhost.',
      ]) {
        expect((await statusFor(`Host: ${host}\r\n`)).status).toBe(404);
      }
      expect((await statusFor('')).status).toBe(404); // HTTP/1.0 without Host: HAProxy's health check
      const { text: noHost } = await rawExchange(port, 'GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n');
      expect(noHost).toMatch(/^HTTP\/1\.1 400 /);
      expect(noHost).toContain('"code":"HOST_REQUIRED"');
      for (const host of [
        'evil.example',
        'evil.example:3000',
        'localhost.evil.example',
        '192.168.1.10',
        'a b',
      ]) {
        const { status, text } = await statusFor(`Host: ${host}\r\n`);
        expect(status).toBe(421);
        expect(text).toContain('"code":"HOST_NOT_ALLOWED"');
        expect(text).toMatch(/x-content-type-options: nosniff/i);
      }
    } finally {
      await app.close();
    }
  });

  it('says nosniff on every answer', async () => {
    const { app, baseUrl } = await start();
    try {
      for (const response of [
        await fetch(`${baseUrl}/echo`, { method: 'POST', headers: json, body: '{}' }),
        await fetch(`${baseUrl}/nope`),
        await fetch(`${baseUrl}/echo`, { method: 'POST', headers: json, body: '{' }),
      ]) {
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        await response.body?.cancel();
      }
    } finally {
      await app.close();
    }
  });
});
