// `npm run demo`: the scripted tour against the running example app, with the real folder watcher.
import { runTour } from './tour.js';

const result = await runTour();
if (result.failed > 0 || result.finalVersion !== '1.0.0') {
  console.error(`tour FAILED: ${result.failed} failed request(s), tasks at ${result.finalVersion}`);
  for (const f of result.failures.slice(0, 10)) console.error(`  ${f}`);
  process.exit(1);
}
console.log('tour passed: the swap, the refused upgrade and the rollback happened while traffic flowed, and no request failed.');
