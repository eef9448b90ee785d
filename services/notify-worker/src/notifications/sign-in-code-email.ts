import { SIGN_IN_CODE_MAX_TRIES, type CustomerSignInCodeV1Data } from '@shop/contracts';
import type { OrderEmail } from './order-email';

/**
 * The sign-in code email: plain text and HTML with the same content. Nothing in it comes from the
 * customer but the address it goes to, so there is nothing to escape. One Message-ID per code, so a
 * re-send after a crash is recognisably the same email.
 */
export function renderSignInCodeEmail(code: CustomerSignInCodeV1Data, mailDomain: string): OrderEmail {
  const until = `${code.expiresAt.slice(0, 10)} ${code.expiresAt.slice(11, 16)} UTC`;
  const text = [
    `Your sign-in code is ${code.code}`,
    '',
    `Enter it by ${until}. It works once; after ${SIGN_IN_CODE_MAX_TRIES} wrong tries, ask for a new one.`,
    'If you did not ask to sign in, ignore this email: nobody can sign in without the code.',
    '',
    'Rabbit Shop',
  ].join('\n');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Your sign-in code</title></head>
<body style="font-family:sans-serif">
<p>Your sign-in code is</p>
<p style="font-size:2em;letter-spacing:0.2em"><strong>${code.code}</strong></p>
<p>Enter it by ${until}. It works once; after ${SIGN_IN_CODE_MAX_TRIES} wrong tries, ask for a new one.</p>
<p>If you did not ask to sign in, ignore this email: nobody can sign in without the code.</p>
<p>Rabbit Shop</p>
</body></html>`;
  return {
    to: { name: '', address: code.email },
    subject: 'Your Rabbit Shop sign-in code',
    text,
    html,
    messageId: `<sign-in-${code.codeId}@${mailDomain}>`,
  };
}
