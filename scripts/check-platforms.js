#!/usr/bin/env node
/**
 * `node scripts/check-platforms.js`: shows, without installing anything, which runtime binary packages
 * `npm ci` picks from package-lock.json on each supported platform, and fails unless that is exactly the
 * Deno package (and, where the registry has one, the Node 22 package) harness/setup/platform.js expects.
 * Catches a lockfile that lost a platform's optionalDependency, which only a Mac or ARM machine would see.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { DENO_PACKAGES, NODE_PACKAGES } = require('../harness/setup/platform.js');

const root = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-platforms-'));
let failed = false;
try {
    for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(root, f), path.join(tmp, f));
    for (const target of Object.keys(DENO_PACKAGES)) {
        const [platform, cpu] = target.split('-');
        const run = spawnSync('npm', ['ci', '--dry-run', '--ignore-scripts', `--os=${platform}`, `--cpu=${cpu}`, '--libc=glibc'], {
            cwd: tmp,
            encoding: 'utf8',
        });
        if (run.status !== 0) {
            console.error(`${target}: npm ci --dry-run failed\n${run.stderr}`);
            failed = true;
            continue;
        }
        const picked = [...run.stdout.matchAll(/^add (@deno\/\S+|node-(?:linux|darwin|win)\S*) (\S+)$/gm)].map((m) => `${m[1]}@${m[2]}`);
        const want = [DENO_PACKAGES[target], NODE_PACKAGES[target]].filter(Boolean);
        const ok = picked.length === want.length && want.every((name) => picked.some((p) => p.startsWith(`${name}@`)));
        failed ||= !ok;
        const node = NODE_PACKAGES[target] ? '' : ' (no Node 22 package: jest project integration-node not run)';
        console.log(`${ok ? 'ok  ' : 'FAIL'} ${target}: ${picked.join(', ') || 'nothing'}${ok ? node : `; expected ${want.join(', ')}`}`);
    }
} finally {
    fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
