/**
 * `npm test`: lint and format check, then the type-check and the packaging of the apps the
 * integration tests load, side by side (each is mostly one process; on two cores overlapping them
 * saves about half a minute), then jest with a worker per core. Extra arguments go to jest.
 */
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function run(command, args) {
    return new Promise((resolve) => {
        const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk) => {
            output += chunk;
        });
        child.stderr.on('data', (chunk) => {
            output += chunk;
        });
        child.on('close', (code) => resolve({ name: [path.basename(command), ...args].join(' '), code, output }));
    });
}

async function main() {
    const lint = spawnSync(bin('biome'), ['check', '--error-on-warnings', '.'], { cwd: root, stdio: 'inherit' });
    if (lint.status !== 0) {
        process.exit(lint.status || 1);
    }
    const steps = await Promise.all([
        // tsconfig.test.json covers the app (strict) as well as the tests, harness, sandbox and bench;
        // packaging compiles the app once more with rc-apps. `npm run typecheck` also checks the app alone.
        run(bin('tsc'), ['-p', 'tsconfig.test.json', '--noEmit']),
        // The same packaging jest's globalSetup does; it finds the zip fresh afterwards.
        run(process.execPath, [path.join(__dirname, 'package-app.js'), '--if-stale']),
    ]);
    const failed = steps.filter((step) => step.code !== 0);
    for (const step of failed) {
        process.stderr.write(`\n${step.name} failed:\n${step.output}\n`);
    }
    if (failed.length > 0) {
        process.exit(1);
    }
    const jest = spawnSync(bin('jest'), ['--maxWorkers=100%', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
    process.exit(jest.status === null ? 1 : jest.status);
}

main();
