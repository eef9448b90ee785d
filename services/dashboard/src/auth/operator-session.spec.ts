import { cookieValueOf, OperatorSessions, SESSION_TTL_MS } from './operator-session';

const TOKEN = 'test-ops-token-0123456789abcdefghijklmnopqrstuvwxyz';

describe('OperatorSessions', () => {
  it('verifies its own cookie, with the same CSRF token, and never puts the token in it', () => {
    const sessions = new OperatorSessions(TOKEN);
    const { cookieValue, session } = sessions.create();
    expect(cookieValue).not.toContain(TOKEN);
    expect(sessions.verify(cookieValue)).toEqual(session);
    // Another dashboard process with the same OPS_TOKEN (a restart) accepts it too.
    expect(new OperatorSessions(TOKEN).verify(cookieValue)).toEqual(session);
  });

  it('refuses a cookie that is forged, altered, signed with another OPS_TOKEN, expired or signed out', () => {
    let now = 1_800_000_000_000;
    const sessions = new OperatorSessions(TOKEN, () => now);
    const { cookieValue, session } = sessions.create();
    const [nonce, expiry, signature] = cookieValue.split('.');
    expect(sessions.verify(`${nonce}.${Number(expiry) + 1}.${signature}`)).toBeUndefined();
    expect(sessions.verify(`${nonce}.${expiry}.${'A'.repeat(43)}`)).toBeUndefined();
    expect(sessions.verify('garbage')).toBeUndefined();
    expect(sessions.verify(`${cookieValue}x`)).toBeUndefined();
    expect(new OperatorSessions(`${TOKEN}-rotated`).verify(cookieValue)).toBeUndefined();
    now += SESSION_TTL_MS;
    expect(sessions.verify(cookieValue)).toBeUndefined();
    now -= 1;
    expect(sessions.verify(cookieValue)).toBeDefined();
    sessions.revoke(session);
    expect(sessions.verify(cookieValue)).toBeUndefined();
  });

  it('gives each session its own CSRF token', () => {
    const sessions = new OperatorSessions(TOKEN);
    expect(sessions.create().session.csrfToken).not.toBe(sessions.create().session.csrfToken);
  });
});

describe('cookieValueOf', () => {
  it('finds one cookie among others', () => {
    expect(cookieValueOf('a=1; shop_dashboard_session=abc.1.x ; b=2', 'shop_dashboard_session')).toBe(
      'abc.1.x',
    );
    expect(cookieValueOf('xshop_dashboard_session=1', 'shop_dashboard_session')).toBeUndefined();
    expect(cookieValueOf(undefined, 'a')).toBeUndefined();
    expect(cookieValueOf('=;;a', 'a')).toBeUndefined();
  });
});
