import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { OperatorGuard } from '@shop/service-kit';
import { CustomerRepository } from '../customers/customer.repository';
import { BulkTokensRequest, parseBody } from '../sign-in/sign-in.requests';
import { CustomerTokenIssuer } from '../tokens/customer-token.issuer';

export interface MintedToken {
  email: string;
  customerId: string;
  token: string;
}

/**
 * Operators mint customer tokens without the email round trip: the load test and the dashboard's sales
 * order as many signed-in customers at once. Missing customers are made; each email gets one token.
 */
@Controller('ops/customers')
@UseGuards(OperatorGuard)
export class OpsTokensController {
  constructor(
    private readonly customers: CustomerRepository,
    private readonly tokens: CustomerTokenIssuer,
  ) {}

  @Post('tokens')
  @HttpCode(200)
  async mint(
    @Body() body: unknown,
  ): Promise<{ tokens: MintedToken[]; tokenType: 'Bearer'; expiresIn: number }> {
    const emails = [...new Set(parseBody(BulkTokensRequest, body).emails)];
    const idOf = new Map((await this.customers.findOrCreate(emails)).map(({ id, email }) => [email, id]));
    const tokens = await Promise.all(
      emails.map(async (email) => {
        const customerId = idOf.get(email)!;
        const { token } = await this.tokens.issue({ id: customerId, email });
        return { email, customerId, token };
      }),
    );
    return { tokens, tokenType: 'Bearer', expiresIn: this.tokens.lifetimeSeconds };
  }
}
