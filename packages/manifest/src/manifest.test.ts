import { readFileSync } from 'node:fs';
import type { ModuleDefinition } from '@modhost/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { configSchemaFromJson, manifestJsonSchema, parseManifest } from './parse.js';
import type { Manifest } from './schema.js';

const good = {
  $schema: '../node_modules/@modhost/manifest/schema.json',
  name: 'reports',
  version: '1.2.0',
  displayName: 'Weekly reports',
  description: 'Rolls tasks up into weekly reports',
  author: 'Acme <dev@acme.example>',
  license: 'MIT',
  metadata: { homepage: 'https://acme.example/reports', repository: 'github:acme/reports', tags: ['reports', 'multi-tenant'], category: 'Analytics' },
  main: 'index.mjs',
  engines: { host: '^2.0.0', node: '>=20 <25' },
  dependencies: { tasks: '^1.0.0' },
  npmDependencies: { 'left-pad': '^1.3.0', '@acme/charts': '~2.1.0', JSONStream: '1.x' },
  permissions: ['tasks:read', 'routes:mount'],
  isolation: 'worker',
  config: {
    schema: { type: 'object', properties: { title: { type: 'string', default: 'Weekly' }, apiKey: { type: 'string' } }, additionalProperties: false },
    sensitive: ['apiKey'],
  },
  routes: [{ method: 'GET', path: '/weekly' }],
  jobs: [{ name: 'rollup', schedule: '0 * * * *', timeout: 5_000 }],
};

describe('parseManifest', () => {
  it('accepts a full manifest and applies defaults', () => {
    const r = parseManifest(JSON.stringify(good));
    expect(r.ok).toBe(true);
    expect(parseManifest({ name: 'a', version: '1.0.0' })).toEqual({ ok: true, value: { name: 'a', version: '1.0.0', main: 'index.mjs' } });
  });

  it('reports every problem with its JSON path', () => {
    const r = parseManifest({
      name: 'Reports',
      version: 'v1',
      main: '../outside.js',
      dependencies: { tasks: '' },
      permissions: ['tasks', 'tasks:read'],
      routes: [{ method: 'FETCH', path: 'weekly' }],
      surprise: true,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'dependencies.tasks',
      'main',
      'name',
      'permissions.0',
      'routes.0.method',
      'routes.0.path',
      'surprise',
      'version',
    ]);
    expect(r.issues.find((i) => i.path[0] === 'surprise')?.message).toBe('unknown field "surprise"');
    expect(r.issues.find((i) => i.path[0] === 'permissions')?.message).toMatch(/<domain>:<action>/);
  });

  it('refuses bad registry fields, each at its exact JSON path', () => {
    const r = parseManifest({
      name: 'a',
      version: '1.0.0',
      displayName: 'x'.repeat(101),
      metadata: { homepage: 'javascript:alert(1)', repository: 'my repo', tags: ['ok', 'Not-Lower', 'ok'], category: 'c'.repeat(51), stars: 5 },
      engines: { node: 'file:../node', deno: '>=2' },
      npmDependencies: { '../escape': '^1.0.0', '.hidden': '1.0.0', 'left-pad': 'git+https://example.com/left-pad.git', lodash: '' },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'displayName',
      'engines.deno',
      'engines.node',
      'metadata.category',
      'metadata.homepage',
      'metadata.repository',
      'metadata.stars',
      'metadata.tags.1',
      'npmDependencies.../escape',
      'npmDependencies..hidden',
      'npmDependencies.left-pad',
      'npmDependencies.lodash',
    ]);
    const at = (path: string) => r.issues.find((i) => i.path.join('.') === path)?.message;
    expect(at('metadata.stars')).toBe('unknown field "stars"');
    expect(at('npmDependencies.../escape')).toMatch(/an npm package name/);
    expect(at('engines.node')).toMatch(/semver range/);
    // Past zod: a repeated tag, and more than 20.
    const dup = parseManifest({ name: 'a', version: '1.0.0', metadata: { tags: ['ok', 'ok'] } });
    expect(dup.ok ? [] : dup.issues).toEqual([{ path: ['metadata', 'tags', 1], message: 'tag "ok" is listed twice' }]);
    const many = parseManifest({ name: 'a', version: '1.0.0', metadata: { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) } });
    expect(many.ok ? [] : many.issues.map((i) => i.path.join('.'))).toEqual(['metadata.tags']);
    for (const repository of ['https://github.com/acme/reports', 'git+ssh://git@github.com/acme/reports.git', 'gitlab:acme/reports', 'acme/reports'])
      expect(parseManifest({ name: 'a', version: '1.0.0', metadata: { repository } }).ok, repository).toBe(true);
  });

  it('checks what the schema alone cannot: duplicates, self-dependency, sensitive paths', () => {
    const r = parseManifest({
      name: 'a',
      version: '1.0.0',
      dependencies: { a: '^1.0.0' },
      permissions: ['x:y', 'x:y'],
      routes: [
        { method: 'GET', path: '/' },
        { method: 'GET', path: '/' },
      ],
      config: { schema: { type: 'object', properties: {} }, sensitive: ['token'] },
    });
    expect(r.ok ? [] : r.issues.map((i) => i.path.join('.'))).toEqual(['routes.1', 'dependencies.a', 'permissions.1', 'config.sensitive.0']);
  });

  it.each([
    ['__proto__ at the top', '{"name":"a","version":"1.0.0","__proto__":{"polluted":true}}'],
    [
      'constructor inside config defaults',
      '{"name":"a","version":"1.0.0","config":{"schema":{"type":"object"},"defaults":{"constructor":{"prototype":{"x":1}}}}}',
    ],
    ['prototype as a config property', '{"name":"a","version":"1.0.0","config":{"schema":{"type":"object","properties":{"prototype":{"type":"string"}}}}}'],
  ])('refuses prototype-polluting keys: %s', (_, text) => {
    const r = parseManifest(text);
    expect(r.ok).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses hostile nesting and JSON Schema keywords that can loop or backtrack', () => {
    let deep: Record<string, unknown> = { type: 'object' };
    for (let i = 0; i < 200; i++) deep = { type: 'object', properties: { x: deep } };
    expect(parseManifest({ name: 'a', version: '1.0.0', config: { schema: deep } }).ok).toBe(false);
    const r = parseManifest({ name: 'a', version: '1.0.0', config: { schema: { type: 'string', pattern: '(a+)+$' } } });
    expect(r.ok ? [] : r.issues.map((i) => i.path.join('.'))).toEqual(['config.schema.pattern']);
    expect(parseManifest({ name: 'a', version: '1.0.0', config: { schema: { $ref: '#' } } }).ok).toBe(false);
    expect(parseManifest('{ not json').ok).toBe(false);
  });
});

describe('config schema from JSON Schema', () => {
  it('validates config as the registry needs it (Standard Schema)', async () => {
    const schema = configSchemaFromJson({
      type: 'object',
      properties: { n: { type: 'integer', minimum: 1 }, mode: { enum: ['a', 'b'] } },
      required: ['n'],
      additionalProperties: false,
    });
    expect(await schema['~standard'].validate({ n: 2, mode: 'a' })).toEqual({ value: { n: 2, mode: 'a' } });
    const bad = await schema['~standard'].validate({ n: 0, mode: 'c', extra: 1 });
    expect('issues' in bad && bad.issues?.map((i) => i.path?.join('.'))).toEqual(['n', 'mode', '']);
  });
});

describe('the JSON Schema for editors', () => {
  it('docs/manifest.schema.json and packages/manifest/schema.json match the zod schema (run `npm run manifest:schema` after changing it)', () => {
    // Compared as JSON, so formatting (the linter reflows it) is not drift.
    const expected = JSON.parse(JSON.stringify(manifestJsonSchema()));
    for (const path of ['../../../docs/manifest.schema.json', '../schema.json']) {
      expect(JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')), path).toEqual(expected);
    }
  });
});

describe('types', () => {
  it("a manifest's declarative fields fit core's module definition", () => {
    // JSON has no `undefined`; zod's optional fields say `| undefined`, core's (exactOptionalPropertyTypes) do not.
    type Defined<T> = T extends (...args: never[]) => unknown ? T : T extends object ? { [K in keyof T]-?: Defined<Exclude<T[K], undefined>> } : T;
    type Keys =
      | 'name'
      | 'version'
      | 'displayName'
      | 'description'
      | 'author'
      | 'license'
      | 'metadata'
      | 'engines'
      | 'dependencies'
      | 'optionalDependencies'
      | 'permissions'
      | 'stateMode'
      | 'ui';
    expectTypeOf<Defined<Pick<Manifest, Keys>>>().toExtend<Defined<Pick<ModuleDefinition, Keys>>>();
    // Extension entries are JSON values (a recursive type), compared shallowly.
    expectTypeOf<NonNullable<Manifest['extensions']>>().toExtend<NonNullable<ModuleDefinition['extensions']>>();
    type Route = Defined<NonNullable<Manifest['routes']>[number]>;
    expectTypeOf<Route>().toExtend<Defined<Omit<NonNullable<ModuleDefinition['routes']>[number], 'handler'>>>();
    type Job = Defined<NonNullable<Manifest['jobs']>[number]>;
    expectTypeOf<Job>().toExtend<Defined<Omit<NonNullable<ModuleDefinition['jobs']>[number], 'run'>>>();
    // And it can fail: a manifest with a numeric version would not fit.
    expectTypeOf<{ version: number }>().not.toExtend<Defined<Pick<ModuleDefinition, 'version'>>>();
  });
});
