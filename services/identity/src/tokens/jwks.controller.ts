import { Controller, Get, Header } from '@nestjs/common';
import { CUSTOMER_TOKEN } from '@shop/contracts';
import { SigningKeyStore } from './signing-key.store';

/** The public key customer tokens verify with (RFC 7517), for order-api and anyone else who checks them. */
@Controller()
export class JwksController {
  constructor(private readonly keys: SigningKeyStore) {}

  @Get(CUSTOMER_TOKEN.jwksPath)
  // Verifiers may cache it; a kid they do not know makes them fetch it again.
  @Header('Cache-Control', 'public, max-age=300')
  async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    const key = await this.keys.current();
    return { keys: [key.publicJwk] };
  }
}
