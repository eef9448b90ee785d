import { startHttpApp, testConfig, testSecrets, waitFor, type HttpAppHarness } from '@shop/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadDashboardConfig } from '../config/dashboard.config';

const operator = { authorization: `Bearer ${testSecrets.OPS_TOKEN}` };
const stranger = { authorization: `Bearer ${'s'.repeat(43)}` };
const json = { 'content-type': 'application/json' };

/**
 * Who may use the dashboard (in this process, on the test vhost; nothing to scrape): operators by
 * Bearer token or by the session cookie of the sign-in form, with a CSRF check on changes.
 */
describe('dashboard: sign-in, operator-only routes, CSRF and the stream cap', () => {
  let dashboard: HttpAppHarness;
  let salesDir: string;
  const open: AbortController[] = [];

  const request = (path: string, init: RequestInit = {}) =>
    fetch(`${dashboard.baseUrl}${path}`, { redirect: 'manual', ...init });
  const codeOf = async (response: Response) => ((await response.json()) as { code: string }).code;
  /** Signs in with JSON: the cookie header to send back and the session's CSRF token. */
  const signIn = async () => {
    const response = await request('/session', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ token: testSecrets.OPS_TOKEN }),
    });
    expect(response.status).toBe(200);
    const setCookie = response.headers.get('set-cookie')!;
    const { csrfToken } = (await response.json()) as { csrfToken: string };
    return { cookie: setCookie.split(';')[0], setCookie, csrfToken };
  };
  /** Opens GET /events and keeps it open (closed after the spec). */
  const openStream = async (headers: Record<string, string>) => {
    const controller = new AbortController();
    open.push(controller);
    const response = await request('/events', { headers, signal: controller.signal });
    if (response.status !== 200) await response.body?.cancel();
    return { response, close: () => controller.abort() };
  };

  beforeAll(async () => {
    salesDir = await mkdtemp(join(tmpdir(), 'dashboard-auth-'));
    const config = loadDashboardConfig({
      RABBITMQ_URL: testConfig.rabbitmqUrl,
      OPS_TOKEN: testSecrets.OPS_TOKEN,
      // Nothing listens there: the snapshots still come, with every service down.
      DASHBOARD_TARGETS: 'order-api=http://127.0.0.1:9',
      DASHBOARD_MAX_STREAMS: '3',
      SALES_DIR: salesDir,
      LOADTEST_CLI: join(salesDir, 'no-load-test.js'),
    });
    dashboard = await startHttpApp(AppModule.forRoot(config), { service: SERVICE_NAME });
  });
  afterEach(() => open.splice(0).forEach((controller) => controller.abort()));
  afterAll(async () => {
    await dashboard?.close();
    await rm(salesDir, { recursive: true, force: true });
  });

  it('the page: the sign-in form (401) to strangers, 403 for a wrong token, the page for an operator', async () => {
    const anonymous = await request('/');
    expect(anonymous.status).toBe(401);
    const form = await anonymous.text();
    expect(form).toContain('<form method="post" action="/session"');
    expect(form).not.toContain('sign-in-message');
    for (const response of [anonymous, await request('/', { headers: stranger })]) {
      expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const wrong = await request('/', { headers: stranger });
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toContain('data-testid="sign-in-message"');

    const page = await request('/', { headers: operator });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    const html = await page.text();
    expect(html).toContain('<script src="/assets/dashboard.js"></script>');
    expect(html).not.toMatch(/<script>|<style|style="|on(click|load)=/);

    const { cookie, csrfToken } = await signIn();
    const signedIn = await request('/', { headers: { cookie } });
    expect(signedIn.status).toBe(200);
    expect(await signedIn.text()).toContain(`<meta name="csrf-token" content="${csrfToken}" />`);
    // The page's code and styles load without signing in (the sign-in form uses the CSS).
    expect((await request('/assets/dashboard.css')).status).toBe(200);
  });

  it.each(['/events', '/api/snapshot', '/api/topology', '/sales/current', '/session'])(
    'GET %s: 401 AUTHENTICATION_REQUIRED, 403 FORBIDDEN, then 2xx for an operator',
    async (path) => {
      const anonymous = await request(path);
      expect(anonymous.status).toBe(401);
      expect(await codeOf(anonymous)).toBe('AUTHENTICATION_REQUIRED');
      const wrong = await request(path, { headers: stranger });
      expect(wrong.status).toBe(403);
      expect(await codeOf(wrong)).toBe('FORBIDDEN');
      const forged = await request(path, { headers: { cookie: 'shop_dashboard_session=x.1.y' } });
      expect(forged.status).toBe(401);

      const { cookie } = await signIn();
      for (const headers of [operator, { cookie }]) {
        const controller = new AbortController();
        open.push(controller);
        const response = await waitFor(`${path} answered`, async () => {
          const answer = await request(path, { headers, signal: controller.signal });
          // /api/snapshot answers 503 NO_SNAPSHOT_YET until the first snapshot.
          if (answer.status === 503) await answer.body?.cancel();
          return answer.status === 503 ? undefined : answer;
        });
        expect([200, 204]).toContain(response.status);
        controller.abort();
      }
    },
  );

  it('POST /sales and its stop are operator-only and take JSON; /health and /metrics stay open', async () => {
    for (const path of ['/sales', '/sales/current/stop']) {
      const anonymous = await request(path, { method: 'POST', headers: json, body: '{}' });
      expect(anonymous.status).toBe(401);
      const wrong = await request(path, { method: 'POST', headers: { ...json, ...stranger }, body: '{}' });
      expect(wrong.status).toBe(403);
      const bare = await request(path, { method: 'POST', headers: operator });
      expect(bare.status).toBe(415);
      expect(await codeOf(bare)).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    const stop = await request('/sales/current/stop', {
      method: 'POST',
      headers: { ...json, ...operator },
      body: '{}',
    });
    expect(stop.status).toBe(409);
    expect(await codeOf(stop)).toBe('NO_SALE_RUNNING');
    const huge = await request('/sales', {
      method: 'POST',
      headers: { ...json, ...operator },
      body: JSON.stringify({ requests: 10_000_000 }),
    });
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as { errors: { field: string; code: string }[] }).errors).toEqual([
      expect.objectContaining({ field: 'requests', code: 'OUT_OF_RANGE' }),
    ]);
    for (const path of ['/health', '/metrics']) {
      const response = await waitFor(`${path} 200`, async () => {
        const answer = await request(path);
        await answer.body?.cancel();
        return answer.status === 200 ? answer : undefined;
      });
      expect(response.status).toBe(200);
    }
  });

  it('signs in with JSON or the form: an HttpOnly, SameSite=Strict cookie that is not the token', async () => {
    const { setCookie } = await signIn();
    expect(setCookie).toMatch(/^shop_dashboard_session=[A-Za-z0-9_-]+\.\d{13}\.[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toContain('; HttpOnly');
    expect(setCookie).toContain('; SameSite=Strict');
    expect(setCookie).not.toContain('Secure');
    expect(setCookie).not.toContain(testSecrets.OPS_TOKEN);

    const form = await request('/session', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: testSecrets.OPS_TOKEN }).toString(),
    });
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toBe('/');
    expect(form.headers.get('set-cookie')).toMatch(/^shop_dashboard_session=/);

    const wrongForm = await request('/session', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=nope',
    });
    expect(wrongForm.status).toBe(403);
    expect(wrongForm.headers.get('set-cookie')).toBeNull();
    expect(await wrongForm.text()).toContain('That is not the operator token.');
    const wrongJson = await request('/session', { method: 'POST', headers: json, body: '{"token":"nope"}' });
    expect(wrongJson.status).toBe(403);
    expect(await codeOf(wrongJson)).toBe('FORBIDDEN');
    const missing = await request('/session', { method: 'POST', headers: json, body: '{}' });
    expect(missing.status).toBe(400);
    expect(await codeOf(missing)).toBe('VALIDATION_FAILED');
    const text = await request('/session', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(text.status).toBe(415);
  });

  it('a change made with the cookie needs JSON, the CSRF header and this origin', async () => {
    const { cookie, csrfToken } = await signIn();
    const stop = (headers: Record<string, string>, body: string | undefined = '{}') =>
      request('/sales/current/stop', { method: 'POST', headers: { cookie, ...headers }, body });

    const noHeader = await stop(json);
    expect(noHeader.status).toBe(403);
    expect(await codeOf(noHeader)).toBe('CSRF_TOKEN_INVALID');
    const wrongToken = await stop({ ...json, 'x-csrf-token': `${csrfToken}x` });
    expect(await codeOf(wrongToken)).toBe('CSRF_TOKEN_INVALID');
    const otherSession = await signIn();
    expect(await codeOf(await stop({ ...json, 'x-csrf-token': otherSession.csrfToken }))).toBe(
      'CSRF_TOKEN_INVALID',
    );
    const crossSite = await stop({ ...json, 'x-csrf-token': csrfToken, origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(await codeOf(crossSite)).toBe('CROSS_SITE_REQUEST');
    expect(
      await codeOf(await stop({ ...json, 'x-csrf-token': csrfToken, 'sec-fetch-site': 'cross-site' })),
    ).toBe('CROSS_SITE_REQUEST');
    // What a form on another site can send: a form body, text/plain, or nothing.
    for (const contentType of [
      'application/x-www-form-urlencoded',
      'text/plain',
      'multipart/form-data; boundary=x',
    ]) {
      const response = await stop({ 'content-type': contentType, 'x-csrf-token': csrfToken }, 'a=1');
      expect([415]).toContain(response.status);
      await response.body?.cancel();
    }
    expect((await stop({ 'x-csrf-token': csrfToken }, undefined)).status).toBe(415);

    const allowed = await stop({
      ...json,
      'x-csrf-token': csrfToken,
      origin: dashboard.baseUrl,
      'sec-fetch-site': 'same-origin',
    });
    expect(allowed.status).toBe(409);
    expect(await codeOf(allowed)).toBe('NO_SALE_RUNNING');
  });

  it('signs out with the CSRF header: the cookie is removed and refused from then on', async () => {
    const { cookie, csrfToken } = await signIn();
    const noHeader = await request('/session', { method: 'DELETE', headers: { cookie } });
    expect(noHeader.status).toBe(403);
    const out = await request('/session', {
      method: 'DELETE',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^shop_dashboard_session=; .*Max-Age=0/);
    const after = await request('/events', { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { message: string }).message).toMatch(/sign in again/);
  });

  it('caps the open streams at DASHBOARD_MAX_STREAMS: one more gets 429 TOO_MANY_STREAMS', async () => {
    const streams = [];
    for (let i = 0; i < 3; i++) streams.push(await openStream(operator));
    expect(streams.map((s) => s.response.status)).toEqual([200, 200, 200]);
    const refused = await request('/events', { headers: operator });
    expect(refused.status).toBe(429);
    expect(await codeOf(refused)).toBe('TOO_MANY_STREAMS');
    streams[0].close();
    const again = await waitFor('a stream slot free again', async () => {
      const attempt = await openStream(operator);
      return attempt.response.status === 200 ? attempt : undefined;
    });
    expect(again.response.status).toBe(200);
  });

  it('refuses a Host it does not answer to with 421 HOST_NOT_ALLOWED', async () => {
    const { request: raw } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const call = raw(
        `${dashboard.baseUrl}/`,
        { headers: { host: 'rebound.example:3004', ...operator } },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      call.on('error', reject);
      call.end();
    });
    expect(status).toBe(421);
  });
});
