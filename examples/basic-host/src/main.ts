import { runDemo } from './demo.js';

console.log('modhost example host: modules, dependencies, two tenants, live lifecycle');
await runDemo();
console.log('\nNext: read docs/getting-started.md, then run `npm test` for every check.');
