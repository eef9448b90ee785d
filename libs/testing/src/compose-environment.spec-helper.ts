import type * as JestGlobals from '@jest/globals';
import type { z } from 'zod';
import { composeEnvironmentProblems, composeServices, type ComposeService } from './compose-environment';

/**
 * The spec each app has: docker-compose.yml runs it as `services` (single node, cluster profile) and gives
 * each exactly the variables its config `shape` reads, with values it accepts.
 */
export function describeComposeEnvironment(app: string, shape: z.ZodRawShape, services: string[]): void {
  // Jest's globals, looked up on call: importing '@jest/globals' would break tools that load this lib outside Jest.
  const { describe, expect, it } = globalThis as unknown as typeof JestGlobals;
  describe(`docker-compose.yml runs ${app} with the environment its config reads`, () => {
    const running = composeServices().filter((service) => service.app === app && !service.command);

    it(`runs it as ${services.join(', ')}`, () => {
      expect(running.map((service) => service.name)).toEqual(services);
    });

    it.each(running.map((service) => [service.name, service] as const))(
      '%s: no variable it does not read, none missing, every value valid',
      (_: string, service: ComposeService) => {
        expect(composeEnvironmentProblems(service, shape)).toEqual([]);
      },
    );
  });
}
