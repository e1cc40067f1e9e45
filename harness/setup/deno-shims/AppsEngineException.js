// The runtime imports this class from the apps-engine TypeScript sources, which the npm package
// does not ship. Re-export the compiled class so `instanceof` checks keep working.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const { AppsEngineException } = require('../../definition/exceptions/AppsEngineException.js');
