import { renderSignInCodeEmail } from './sign-in-code-email';

describe('renderSignInCodeEmail', () => {
  const code = {
    codeId: '0b6f1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4',
    email: 'kim.minjun@example.kr',
    code: '004271',
    expiresAt: '2026-12-07T03:14:15.000Z',
  };

  it('gives the code, its deadline and one Message-ID per code', () => {
    const email = renderSignInCodeEmail(code, 'shop.local');
    expect(email.to).toEqual({ name: '', address: 'kim.minjun@example.kr' });
    expect(email.subject).not.toContain('004271');
    expect(email.text).toContain('Your sign-in code is 004271');
    expect(email.text).toContain('Enter it by 2026-12-07 03:14 UTC');
    expect(email.html).toContain('<strong>004271</strong>');
    expect(email.messageId).toBe('<sign-in-0b6f1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4@shop.local>');
  });
});
