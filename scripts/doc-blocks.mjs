// Writes every ```ts block of the README files and docs/ into docs/.typecheck/, one module per block, so that
// `npm run typecheck` checks the examples people copy (tsconfig.docs.json includes them).
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'docs/.typecheck');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  ...readdirSync(join(root, 'packages')).map((p) => `packages/${p}/README.md`),
];
let count = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(join(root, file), 'utf8');
  } catch {
    continue;
  }
  for (const [n, m] of [...text.matchAll(/```ts\n([\s\S]*?)```/g)].entries()) {
    // Each block is its own module (top-level await and its own imports). A block that starts with
    // `// file: name.ts` is written under that name too, so a later block can import it as `./name.js`.
    const code = `// ${file}, block ${n + 1}\n${m[1]}\nexport {};\n`;
    writeFileSync(join(out, `${file.replaceAll('/', '_').replace(/\.md$/, '')}.${n}.ts`), code);
    const named = /^\/\/ file: ([a-z0-9-]+\.ts)\n/.exec(m[1] ?? '');
    if (named) writeFileSync(join(out, named[1]), code);
    count++;
  }
}
console.log(`doc-blocks: ${count} TypeScript blocks from ${files.length} files written to docs/.typecheck`);
