// One Jest run for the whole workspace: fast unit specs next to the code (*.spec.ts) and integration
// specs against the real PostgreSQL, RabbitMQ and an SMTP sink (*.int-spec.ts), which run one at a time.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

const shared = {
  testEnvironment: 'node',
  // jose (customer JWTs) ships ES modules only: compiled to CommonJS like our own code.
  transform: { '^.+\\.ts$': swc, '/node_modules/jose/.+\\.js$': swc },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  // A subpath (`@shop/messaging/dead-letters`) is the folder's index, as the package's `exports` say.
  moduleNameMapper: {
    '^@shop/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts',
    '^@shop/([a-z-]+)/([a-z-]+)$': '<rootDir>/libs/$1/src/$2/index.ts',
  },
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
  rootDir: __dirname,
};

/** @type {import('jest').Config} */
module.exports = {
  // A global option (ignored inside `projects`): integration specs wait for real services.
  testTimeout: 60_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{libs,services}/*/src/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/{libs,services}/*/src/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
      slowTestThreshold: 20,
    },
  ],
};
