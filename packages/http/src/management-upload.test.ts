import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { memoryStorage } from '@modhost/core';
import { silentLogger } from '@modhost/testkit';
import Ajv2020 from 'ajv/dist/2020.js';
import express from 'express';
import { createHost, type Host, type HostOptions } from 'modhost';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleFiles, signatureFor, tar, zip } from '../test/archives.js';
import { escapesOf, HOSTILE, HOSTILE_LIMITS } from '../test/hostile-packages.js';
import { modhostExpress } from './express.js';
import { createManagementApi } from './management-api.js';
import type { ManagementAuditRecord, RoleGrant } from './management-types.js';

const ROLES: Record<string, { id: string; grants: RoleGrant[] }> = {
  'admin-token': { id: 'root', grants: [{ role: 'admin' }] },
  'operator-token': { id: 'ops', grants: [{ role: 'operator' }] },
  'viewer-token': { id: 'eve', grants: [{ role: 'viewer' }] },
};

const work = mkdtempSync(join(tmpdir(), 'modhost-upload-'));
const uploads = join(work, 'uploads');
const signedUploads = join(work, 'signed-uploads');
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const audit: ManagementAuditRecord[] = [];
const responses: { method: string; path: string; status: number; body: unknown }[] = [];
let hosts: Host[] = [];
let server: Server;
let base = '';

const hostOptions = (extra: Partial<HostOptions> = {}): HostOptions => ({
  version: '1.0.0',
  logger: silentLogger,
  policy: { grant: { '*': ['routes:mount'] } },
  minimumIsolation: 'in-process',
  defaultIsolation: 'in-process',
  ...extra,
});

beforeAll(async () => {
  const host = createHost(hostOptions());
  const signed = createHost(hostOptions({ requireSigned: true, trustedKeys: { team: publicKey } }));
  hosts = [host, signed];
  for (const h of hosts) await h.start();
  const userOf = (h: unknown) => (typeof h === 'string' && h.startsWith('Bearer ') ? ROLES[h.slice(7)] : undefined);
  const common = {
    authenticate: (req: { headers: Record<string, unknown> }) => userOf(req.headers.authorization),
    roles: (p?: { grants: RoleGrant[] }) => p?.grants ?? [],
  };
  const app = express();
  app.use(express.json());
  app.use(
    '/api/v1',
    modhostExpress(
      createManagementApi(host, {
        ...common,
        uploadRoot: uploads,
        maxUploadBytes: 2 * 1024 * 1024,
        maxUnpackedBytes: HOSTILE_LIMITS.maxUnpackedBytes,
        maxUploadEntries: HOSTILE_LIMITS.maxEntries,
        onAudit: (r) => void audit.push(r),
        onError: () => {},
      }),
    ),
  );
  app.use('/signed/api/v1', modhostExpress(createManagementApi(signed, { ...common, uploadRoot: signedUploads, onError: () => {} })));
  app.use('/plain/api/v1', modhostExpress(createManagementApi(host, { ...common, onError: () => {} })));
  app.use('/modules', modhostExpress(host));
  app.use('/signed-modules', modhostExpress(signed));
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  for (const h of hosts) await h.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A call with a package (bytes, under `type`) or a JSON body; every answer is kept for the OpenAPI check. */
async function send(path: string, token: string | undefined, body: Uint8Array | object | undefined, type = 'application/gzip') {
  const raw = body instanceof Uint8Array;
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': raw ? type : 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: raw ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const parsed = text === '' ? undefined : JSON.parse(text);
  responses.push({ method: 'POST', path: path.replace(/^.*\/api\/v1/, ''), status: res.status, body: parsed });
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever JSON the API answered
  return { status: res.status, body: parsed as Record<string, any>, headers: res.headers };
}

const npmPack = (files: Record<string, string>) => gzipSync(tar(Object.entries(files).map(([name, data]) => ({ name: `package/${name}`, data }))));
/**
 * Streams `chunks` chunks of 64 KiB with no declared length, on a connection of its own: the server stops reading
 * (and drops the connection) at the limit, which must not spoil the connections the other calls share.
 */
function streamUpload(path: string, chunks: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      `${base}${path}`,
      { method: 'POST', agent: false, headers: { authorization: 'Bearer admin-token', 'content-type': 'application/gzip', 'transfer-encoding': 'chunked' } },
      (res) => {
        answered = true;
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    // Once the answer is in, the dropped connection is expected.
    req.on('error', (e) => (answered ? undefined : reject(e)));
    let sent = 0;
    const write = () => {
      while (sent < chunks) {
        sent++;
        if (!req.write(new Uint8Array(64 * 1024))) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}
const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

describe('POST /modules with a package upload', () => {
  it('installs a .tgz (as npm pack makes it) into a fresh folder, serves it, and audits name@version and size', async () => {
    const bytes = npmPack(moduleFiles('greeter', '0.1.0'));
    const installed = await send('/api/v1/modules', 'admin-token', bytes);
    expect(installed, JSON.stringify(installed.body)).toMatchObject({ status: 201, body: { name: 'greeter', version: '0.1.0', status: 'ENABLED' } });
    expect(await (await fetch(`${base}/modules/greeter`)).text()).toContain('hello from greeter');
    const [folder] = listing(uploads);
    expect(readFileSync(join(uploads, folder as string, 'modhost.json'), 'utf8')).toContain('"greeter"');
    expect(audit.at(-1)).toMatchObject({
      action: 'modules.install',
      outcome: 'ok',
      principal: 'root',
      after: { name: 'greeter', version: '0.1.0', dir: join(uploads, folder as string), upload: { bytes: bytes.byteLength } },
    });
  });

  it('refuses a version installed before with other files (INTEGRITY_MISMATCH), leaving no folder', async () => {
    const before = listing(uploads);
    const changed = await send('/api/v1/modules', 'admin-token', npmPack(moduleFiles('greeter', '0.1.0', 'changed behind its version')));
    expect(changed).toMatchObject({ status: 422, body: { code: 'INTEGRITY_MISMATCH' } });
    expect(listing(uploads)).toEqual(before);
    expect(await (await fetch(`${base}/modules/greeter`)).text()).toContain('hello from greeter');
  });

  it('installs a zip the same way, under application/zip or application/octet-stream', async () => {
    const files = moduleFiles('zipped', '1.0.0');
    const bytes = zip(Object.entries(files).map(([name, data]) => ({ name: `zipped/${name}`, data, method: 8 as const })));
    const installed = await send('/api/v1/modules', 'admin-token', bytes, 'application/octet-stream');
    expect(installed, JSON.stringify(installed.body)).toMatchObject({ status: 201, body: { name: 'zipped', status: 'ENABLED' } });
    expect(await (await fetch(`${base}/modules/zipped`)).text()).toContain('hello from zipped');
  });

  // An empty body is no package at all: 400 (below), not a refused one.
  it.each(HOSTILE.filter(([what]) => what !== 'an empty body'))(
    'refuses %s: nothing unpacked stays, nothing is written outside, the failure is audited',
    async (_, make, code) => {
      const before = listing(uploads);
      const refused = await send('/api/v1/modules', 'admin-token', make(), 'application/octet-stream');
      expect(refused.status, JSON.stringify(refused.body)).toBe(422);
      expect(refused.body.code).toBe(code);
      expect(listing(uploads)).toEqual(before);
      for (const escaped of [...escapesOf(uploads), ...before.flatMap((f) => escapesOf(join(uploads, f)))]) expect(existsSync(escaped), escaped).toBe(false);
      expect(audit.at(-1)).toMatchObject({ action: 'modules.install', outcome: 'failed', error: { code } });
    },
  );

  it('answers 403 when the host takes no uploads, without reading the package', async () => {
    const refused = await send('/plain/api/v1/modules', 'admin-token', npmPack(moduleFiles('greeter')));
    expect(refused).toMatchObject({ status: 403, body: { code: 'PERMISSION_DENIED', detail: expect.stringContaining('this host does not take uploads') } });
  });

  it('answers 413 past maxUploadBytes, whether the length is declared or the bytes stream in', async () => {
    const before = listing(uploads);
    const big = new Uint8Array(3 * 1024 * 1024).fill(7);
    expect((await send('/api/v1/modules', 'admin-token', big)).status).toBe(413);
    expect(await streamUpload('/api/v1/modules', 48)).toBe(413);
    expect(listing(uploads)).toEqual(before);
  });

  it('needs the admin role host-wide: viewers and operators get 403 and nothing is unpacked', async () => {
    const before = listing(uploads);
    for (const token of ['viewer-token', 'operator-token', undefined]) {
      const refused = await send('/api/v1/modules', token, npmPack(moduleFiles('sneaky')));
      expect(refused.status, String(token)).toBe(403);
    }
    expect(listing(uploads)).toEqual(before);
  });

  it('answers 415 for another body type, naming the types it takes; 400 for an empty upload', async () => {
    const wrong = await send('/api/v1/modules', 'admin-token', Buffer.from('hello'), 'text/plain');
    expect(wrong.status).toBe(415);
    expect(wrong.headers.get('accept')).toContain('application/gzip');
    expect((await send('/api/v1/modules', 'admin-token', new Uint8Array(), 'application/zip')).status).toBe(400);
  });

  it('on a host that requires signatures: an unsigned package is refused (SIGNATURE_INVALID) and its folder removed; a signed one installs', async () => {
    const files = moduleFiles('stamped', '1.0.0');
    const unsigned = await send('/signed/api/v1/modules', 'admin-token', npmPack(files));
    expect(unsigned).toMatchObject({ status: 422, body: { code: 'SIGNATURE_INVALID' } });
    expect(listing(signedUploads)).toEqual([]);
    const forged = await send(
      '/signed/api/v1/modules',
      'admin-token',
      npmPack({ ...files, 'modhost.sig': signatureFor(files, 'stamped', '2.0.0', privateKey, 'team') }),
    );
    expect(forged).toMatchObject({ status: 422, body: { code: 'SIGNATURE_INVALID' } });
    expect(listing(signedUploads)).toEqual([]);
    const signed = await send(
      '/signed/api/v1/modules',
      'admin-token',
      npmPack({ ...files, 'modhost.sig': signatureFor(files, 'stamped', '1.0.0', privateKey, 'team') }),
    );
    expect(signed, JSON.stringify(signed.body)).toMatchObject({ status: 201, body: { name: 'stamped', status: 'ENABLED' } });
    expect(listing(signedUploads)).toHaveLength(1);
    expect(await (await fetch(`${base}/signed-modules/stamped`)).text()).toContain('hello from stamped');
  });

  it('the JSON { path } form still works beside uploads', async () => {
    const refused = await send('/api/v1/modules', 'admin-token', { path: work });
    expect(refused).toMatchObject({ status: 403, body: { code: 'PERMISSION_DENIED' } });
  });

  it('the OpenAPI document shows both request bodies, and every answer above fits it', async () => {
    const doc = (await (await fetch(`${base}/api/v1/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
            responses: Record<string, { content?: Record<string, { schema: object }> }>;
          }
        >
      >;
    };
    const install = doc.paths['/modules']?.post;
    expect(Object.keys(install?.requestBody?.content ?? {})).toEqual([
      'application/json',
      'application/gzip',
      'application/x-gzip',
      'application/x-tar',
      'application/zip',
      'application/octet-stream',
    ]);
    expect(install?.requestBody?.content['application/json']?.schema).toMatchObject({ properties: { path: { type: 'string' } } });
    expect(install?.requestBody?.content['application/gzip']?.schema).toMatchObject({ type: 'string', format: 'binary' });
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    for (const r of responses) {
      const res = doc.paths[r.path]?.post?.responses[String(r.status)];
      expect(res, `POST ${r.path} ${r.status} is documented`).toBeDefined();
      const schema = res?.content?.['application/json']?.schema ?? res?.content?.['application/problem+json']?.schema;
      if (schema && r.body !== undefined) expect(ajv.validate(schema, r.body), `POST ${r.path} ${r.status}: ${ajv.errorsText()}`).toBe(true);
    }
    expect(responses.length).toBeGreaterThan(40);
  });
});

describe('an uploaded module lives as long as it is installed', () => {
  it('is loaded again from its folder when the host restarts, and its folder goes when it is uninstalled', async () => {
    const map = new Map<string, string>();
    const root = join(work, 'lifetime-uploads');
    const start = async () => {
      const host = createHost(hostOptions({ storage: memoryStorage({ map }) }));
      await host.start();
      const app = express();
      const userOf = (h: unknown) => (typeof h === 'string' && h.startsWith('Bearer ') ? ROLES[h.slice(7)] : undefined);
      const api = createManagementApi(host, {
        authenticate: (req) => userOf(req.headers.authorization),
        roles: (p) => (p as { grants: RoleGrant[] } | undefined)?.grants ?? [],
        uploadRoot: root,
        onError: () => {},
      });
      app.use('/api/v1', modhostExpress(api));
      app.use('/modules', modhostExpress(host));
      const srv = createServer(app);
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
      const close = async () => {
        await new Promise((r) => srv.close(r));
        await host.stop();
      };
      return { url, close };
    };

    const first = await start();
    const res = await fetch(`${first.url}/api/v1/modules`, {
      method: 'POST',
      headers: { authorization: 'Bearer admin-token', 'content-type': 'application/gzip' },
      body: npmPack(moduleFiles('survivor', '1.0.0')),
    });
    expect(res.status).toBe(201);
    await first.close();
    expect(listing(root)).toHaveLength(1);

    const second = await start();
    try {
      expect(await (await fetch(`${second.url}/modules/survivor`)).text()).toContain('hello from survivor');
      const removed = await fetch(`${second.url}/api/v1/modules/survivor`, { method: 'DELETE', headers: { authorization: 'Bearer admin-token' } });
      expect(removed.status).toBe(200);
      expect(listing(root)).toEqual([]);
    } finally {
      await second.close();
    }
  });
});
