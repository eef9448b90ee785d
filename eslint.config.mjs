// Lint: TypeScript rules plus Nx module boundaries, enforced (services never import services;
// libs never import services; contracts import nothing from the workspace).
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const depConstraints = [
  { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  // The tools project (load test, benches, drills): uses libs; no lib or service may import it.
  { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'scope:contracts', notDependOnLibsWithTags: ['type:lib', 'type:service'] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared', 'scope:contracts'] },
  {
    sourceTag: 'scope:testing',
    onlyDependOnLibsWithTags: ['scope:shared', 'scope:contracts', 'scope:mail-sink'],
  },
  // The SMTP sink with Mailpit's API: npm start's mail catcher, the specs and the benches; no service.
  { sourceTag: 'scope:mail-sink', onlyDependOnLibsWithTags: [] },
  {
    sourceTag: 'scope:loadtest',
    onlyDependOnLibsWithTags: ['scope:shared', 'scope:contracts', 'scope:tooling', 'scope:mail-sink'],
  },
  // Local RabbitMQ cluster and load balancer: for tools, drills and benches, never for a service.
  { sourceTag: 'scope:tooling', onlyDependOnLibsWithTags: ['scope:shared', 'scope:contracts'] },
  { sourceTag: 'type:service', notDependOnLibsWithTags: ['scope:tooling', 'scope:mail-sink'] },
];

/** `allow` lists imports the rule skips: specs and test harnesses may use @shop/testing anywhere. */
const moduleBoundaries = (allow) => ({ enforceBuildableLibDependency: false, allow, depConstraints });

export default [
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'var/**',
      'coverage/**',
      '.nx/**',
      'libs/db/src/generated/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': ['error', moduleBoundaries([])],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    // Specs, test harnesses and command-line tools may print and use loose types for HTTP bodies.
    files: [
      '**/*.spec.ts',
      '**/*.int-spec.ts',
      '**/testing/**/*.ts',
      '**/bench/**/*.ts',
      '**/drills/**/*.ts',
      'deploy/**/*.ts',
      'prisma/**/*.ts',
      '**/cli/**/*.ts',
    ],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      'no-console': 'off',
      '@nx/enforce-module-boundaries': ['error', moduleBoundaries(['@shop/testing'])],
    },
  },
  prettier,
];
