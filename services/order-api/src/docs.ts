import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AuthSchemes } from './auth/auth-schemes';

/** OpenAPI docs at /docs (UI) and /docs-json (the document). */
export function setUpApiDocs(app: INestApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Order API')
      .setDescription(
        'Places orders (stock taken atomically, events published through a transactional outbox) and manages the catalogue. ' +
          'Every error body is { code, message }. ' +
          'Who may do what: product writes need the operator token (Authorization: Bearer <OPS_TOKEN>); ' +
          'anyone may place an order as a guest, or signed in with a customer JWT from identity; reading an ' +
          "order needs its accessToken (answered by POST /orders), its customer's JWT or the operator token. " +
          'No credential gets 401 AUTHENTICATION_REQUIRED; a wrong one gets 403 FORBIDDEN on product writes ' +
          'and 404 ORDER_NOT_FOUND on an order (whether it exists is not revealed).',
      )
      .setVersion('1')
      .addBearerAuth(
        { type: 'http', scheme: 'bearer', description: 'OPS_TOKEN: product writes, every order' },
        AuthSchemes.operator,
      )
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: "A customer's JWT from identity (ES256, checked against identity's JWKS)",
        },
        AuthSchemes.customer,
      )
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          description:
            "An order's accessToken from POST /orders (or as ?accessToken=): reads that order only",
        },
        AuthSchemes.orderAccessToken,
      )
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
}
