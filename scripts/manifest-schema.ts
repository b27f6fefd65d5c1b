// Writes docs/manifest.schema.json from the zod schema in @modhost/manifest: `npm run manifest:schema`.
// A test fails when the committed file and the schema drift apart.
import { writeFileSync } from 'node:fs';
import { manifestJsonSchema } from '@modhost/manifest';

const text = `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
for (const path of ['../docs/manifest.schema.json', '../packages/manifest/schema.json']) {
  const out = new URL(path, import.meta.url);
  writeFileSync(out, text);
  console.log(`wrote ${out.pathname}`);
}
