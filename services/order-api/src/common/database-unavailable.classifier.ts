import { HttpStatus } from '@nestjs/common';
import { isDatabaseUnavailableError } from '@shop/db';
import { ApiError, type ErrorClassifier } from '@shop/service-kit';

/** Any request that fails because PostgreSQL is unreachable gets a quick 503 the client may retry. */
export const databaseUnavailableClassifier: ErrorClassifier = (error) =>
  isDatabaseUnavailableError(error)
    ? new ApiError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'DATABASE_UNAVAILABLE',
        'The database is unavailable; retry shortly.',
      )
    : undefined;
