#!/usr/bin/env node
/**
 * `npm run bench`: the RapidPro Bridge against a floor app, both in the real Apps-Engine (harness/engine)
 * with the RapidPro simulator. See bench/README.md. Not part of `npm test`.
 *
 *   node bench/run.js            full run (a few minutes on 2 cores), writes bench/results.json
 *   BENCH_QUICK=1 node bench/run.js   smoke run with few samples, writes bench/results.local.json
 *
 * This file: packages what is missing or stale (the main app and the floor fixture, with the
 * repository's cached packager scripts/package-app.js), then runs bench/main.ts under ts-node.
 * With `--worker` it is one benchmark subject (bench/worker.ts), with `--cluster-worker` one cluster subject
 * (bench/clusterWorker.ts), forked by main.ts.
 */

const path = require('node:path');

const root = path.resolve(__dirname, '..');

function registerTs() {
    require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.test.json') });
}

function ensureZips() {
    const packager = require(path.join(root, 'scripts', 'package-app.js'));
    const skip = process.env.BENCH_SKIP_PACKAGE === '1' || process.env.RAPIDPRO_SKIP_PACKAGE === '1';
    if (!skip && !packager.isFresh(root)) {
        process.stderr.write('[bench] packaging the main app (scripts/package-app.js) ...\n');
        try {
            packager.packageApp(root);
        } catch (error) {
            process.stderr.write(`[bench] packaging the main app failed: ${error.message}\n`);
            process.exit(1);
        }
    }
    const floorZip = packager.packageApp(path.join(__dirname, 'fixtures', 'floor-app'), { quiet: true });
    return { appZip: packager.zipPathFor(root), floorZip };
}

if (process.argv.includes('--worker')) {
    registerTs();
    require('./worker.ts');
} else if (process.argv.includes('--cluster-worker')) {
    registerTs();
    require('./clusterWorker.ts');
} else {
    const zips = ensureZips();
    registerTs();
    require('./main.ts')
        .main(zips)
        .then(() => process.exit(0))
        .catch((error) => {
            console.error(error?.stack ? error.stack : error);
            process.exit(1);
        });
}
