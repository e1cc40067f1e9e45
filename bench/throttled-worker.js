#!/usr/bin/env node
/** One subject of the throttled run (bench/lib/throttled.ts), forked by it: one EngineHost per process. */
const path = require('node:path');

require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', 'tsconfig.test.json') });
require('./lib/throttled.ts').childMain();
