/** Unit tests run the pure code directly; integration tests drive the packaged zip in the real engine. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.test.json', isolatedModules: true }];
const integration = {
    testEnvironment: 'node',
    transform: { '^.+\\.ts$': tsJest },
    globalSetup: '<rootDir>/test/integration/globalSetup.js',
};
/**
 * The suites that also run with the app in Node 22 (Rocket.Chat 8.8+'s default runtime; see README
 * "Rocket.Chat versions and app runtimes"): together they reach every endpoint, event, job, slash command and media path.
 */
const BOTH_RUNTIMES = [
    'handoff',
    'contactMessages',
    'agentMessages',
    'lifecycle',
    'delivery',
    'realServer',
    'realServerLifecycle',
    'auth',
    'adminCommand',
];
const integrationNode = {
    ...integration,
    displayName: 'integration-node',
    testMatch: BOTH_RUNTIMES.map((name) => `<rootDir>/test/integration/${name}.test.ts`),
    // Rocket.Chat 8.8's switch: the hosts of these files start the app in the Node runtime.
    setupFiles: ['<rootDir>/harness/setup/jest-node-runtime.js'],
};
// The Node 22 binary comes from an npm package that exists only for some platforms (no macOS arm64):
// where it is missing the project is left out, loudly, rather than failing npm test or passing empty.
const nodeRuntime = require('./harness/setup/platform.js').nodeRuntime();
if (!nodeRuntime.binary) {
    process.stderr.write(`\n[jest] project integration-node NOT RUN on this machine: ${nodeRuntime.reason}.\n\n`);
}
module.exports = {
    testTimeout: 60000,
    projects: [
        {
            displayName: 'unit',
            testEnvironment: 'node',
            testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
            transform: { '^.+\\.ts$': tsJest },
        },
        { ...integration, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
        // The sandbox's agent page in Debian's headless Chromium (/usr/bin/chromium; .ci/run installs it).
        { ...integration, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] },
        ...(nodeRuntime.binary ? [integrationNode] : []),
    ],
};
