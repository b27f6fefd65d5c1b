// Runs every benchmark: `npm run bench`. Each prints a table and writes bench/results/<name>.json.
import { benchCoreRegistry } from './core-registry.js';
import { report } from './lib.js';

report('core-registry', 'core: registry overhead against the plain algorithm', await benchCoreRegistry());
