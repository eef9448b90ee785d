import type { FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The page's own files: services/dashboard/public, beside src/ and dist/. */
export const PUBLIC_DIR = join(__dirname, '../../public');

/**
 * The dashboard's pages load scripts, styles and data from this origin only, run no inline script
 * and cannot be framed. uPlot sizes its elements through the CSSOM, which style-src does not govern.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CSRF_PLACEHOLDER = '<meta name="csrf-token" content="" />';
const MESSAGE_PLACEHOLDER = '<!-- sign-in message -->';

function htmlHeaders(reply: FastifyReply, csp: string): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', csp)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store');
}

/** The live page, with the session's CSRF token for the changes it asks for (none for a Bearer caller). */
export function dashboardPage(reply: FastifyReply, csrfToken: string | undefined): void {
  const html = readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8');
  if (!html.includes(CSRF_PLACEHOLDER)) throw new Error(`index.html lacks ${CSRF_PLACEHOLDER}`);
  const meta = `<meta name="csrf-token" content="${/^[A-Za-z0-9_-]*$/.test(csrfToken ?? '') ? (csrfToken ?? '') : ''}" />`;
  void htmlHeaders(reply, DASHBOARD_CSP).send(html.replace(CSRF_PLACEHOLDER, meta));
}

/** The sign-in form, with one of our own fixed sentences (never the caller's words) above it. */
export function signInPage(reply: FastifyReply, message?: string): void {
  const html = readFileSync(join(PUBLIC_DIR, 'sign-in.html'), 'utf8');
  const escaped = (message ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const paragraph = message ? `<p class="sign-in-message" data-testid="sign-in-message">${escaped}</p>` : '';
  void htmlHeaders(reply, DASHBOARD_CSP).send(html.replace(MESSAGE_PLACEHOLDER, paragraph));
}

/**
 * A sale's report.html (written by the load test: inline CSS and SVG, no script) with a policy that
 * allows exactly its own inline styles by hash and nothing else.
 */
export function reportPage(reply: FastifyReply, html: string): void {
  const hashes = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map(
    ([, css]) => `'sha256-${createHash('sha256').update(css, 'utf8').digest('base64')}'`,
  );
  const csp = [
    "default-src 'none'",
    `style-src ${hashes.length > 0 ? hashes.join(' ') : "'none'"}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  void htmlHeaders(reply, csp).send(html);
}
