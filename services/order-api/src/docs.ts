import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** OpenAPI docs at /docs (UI) and /docs-json (the document). */
export function setUpApiDocs(app: INestApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Order API')
      .setDescription(
        'Places orders (stock taken atomically, events published through a transactional outbox) and manages the catalogue. ' +
          'Every error body is { code, message }.',
      )
      .setVersion('1')
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
}
