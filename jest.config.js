/** Unit tests run the pure code directly; integration tests drive the packaged zip in the real engine. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.test.json', isolatedModules: true }];
module.exports = {
    testTimeout: 60000,
    projects: [
        {
            displayName: 'unit',
            testEnvironment: 'node',
            testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
            transform: { '^.+\\.ts$': tsJest },
        },
        {
            displayName: 'integration',
            testEnvironment: 'node',
            testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
            transform: { '^.+\\.ts$': tsJest },
            globalSetup: '<rootDir>/test/integration/globalSetup.js',
        },
    ],
};
