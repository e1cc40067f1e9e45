// Replaces deno-runtime/lib/require.ts in the Node-mode bundle. Deno maps '@rocket.chat/apps-engine/'
// to the package through its import map; a require anchored at the apps-engine package does the same.
// 'npm:uuid' (construct.ts's ALLOWED_EXTERNAL_MODULES; unused once construct.ts is adapted) would be
// apps-engine's own uuid.
import { createRequire } from 'node:module';

const _require = createRequire(`${__APPS_ENGINE_DIR__}/package.json`);

export const require = (mod) => _require(mod.replace(/^npm:/, '').replace(/\.ts$/, '.js'));
