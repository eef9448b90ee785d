/** Something a service needs to do its work; `check()` throws when it is not ready. */
export interface HealthCheck {
  readonly name: string;
  check(): Promise<void>;
  /** Figures shown beside the check's status (counters, say); read on every GET /health. */
  details?(): Record<string, unknown>;
}

export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');
