import type { ApiBodyOptions } from '@nestjs/swagger';
import { z } from 'zod';

/** The OpenAPI schema type @nestjs/swagger takes (its own type is not exported from the package root). */
type SchemaObject = NonNullable<Extract<ApiBodyOptions, { schema?: unknown }>['schema']>;

/** The OpenAPI schema of a zod schema, so the docs describe exactly what the API validates. */
export function openApiSchemaOf(schema: z.ZodType): SchemaObject {
  const { $schema: _dialect, ...jsonSchema } = z.toJSONSchema(schema, { target: 'openapi-3.0' }) as Record<
    string,
    unknown
  >;
  return jsonSchema as SchemaObject;
}

export const errorResponseSchema: SchemaObject = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', example: 'OUT_OF_STOCK' },
    message: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { field: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};
