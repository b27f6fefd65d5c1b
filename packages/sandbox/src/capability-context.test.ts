import { defineModule, isModhostError } from '@modhost/core';
import { describe, expect, it } from 'vitest';
import { setup } from '../test/helpers.js';

const mod = (name: string, permissions: string[], extra: Record<string, unknown> = {}) => defineModule({ name, version: '1.0.0', permissions, ...extra });

async function denied(fn: () => unknown) {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a denial');
}

describe('capability context', () => {
  it('hands over only what was granted: the rest is absent, not present-and-throwing', () => {
    const { sandbox, input } = setup({ grant: { notes: ['storage:module'] } });
    const tasks = () => ({ list: { permission: 'tasks:read', call: () => ['t1'] }, add: { permission: 'tasks:write', call: (t: string) => t } });
    const s2 = setup({ grant: { notes: ['storage:module', 'tasks:read'] } }, { services: { tasks } });
    const { ctx } = s2.sandbox.contextFor(s2.input('notes'), mod('notes', ['storage:module', 'tasks:read', 'tasks:write', 'net:fetch:api.example.com']));
    expect(Object.keys(ctx).sort()).toEqual(['config', 'dep', 'deps', 'logger', 'module', 'services', 'storage', 'tenant', 'tenantConfig']);
    expect(Object.keys(ctx.services)).toEqual(['tasks']);
    expect(Object.keys(ctx.services.tasks as object)).toEqual(['list']);
    expect('net' in ctx).toBe(false);
    // Not requested, not granted: no storage either.
    const bare = sandbox.contextFor(input('bare'), mod('bare', [])).ctx;
    expect('storage' in bare).toBe(false);
  });

  it('grants only what the module requested, even when the policy would allow more', () => {
    const { sandbox, input } = setup(
      { grant: { '*': ['tasks:*', 'storage:module'] } },
      { services: { tasks: () => ({ list: { permission: 'tasks:read', call: () => [] } }) } },
    );
    const { ctx } = sandbox.contextFor(input('quiet'), mod('quiet', []));
    expect(Object.keys(ctx.services)).toEqual([]);
    expect('storage' in ctx).toBe(false);
  });

  it('per-tenant grants add to host-wide ones for that tenant only', () => {
    const { sandbox, input } = setup(
      { grant: { reports: ['tasks:read'] }, tenants: { acme: { reports: ['tasks:write'] } } },
      { services: { tasks: () => ({ list: { permission: 'tasks:read', call: () => [] }, add: { permission: 'tasks:write', call: () => 1 } }) } },
    );
    const def = mod('reports', ['tasks:read', 'tasks:write']);
    expect(Object.keys(sandbox.contextFor(input('reports', { tenant: 'acme' }), def).ctx.services.tasks as object)).toEqual(['list', 'add']);
    expect(Object.keys(sandbox.contextFor(input('reports', { tenant: 'globex' }), def).ctx.services.tasks as object)).toEqual(['list']);
    expect(Object.keys(sandbox.contextFor(input('reports'), def).ctx.services.tasks as object)).toEqual(['list']);
  });

  it('a revoked grant fails the next call with PERMISSION_DENIED naming module, permission and the fix, and audits it', async () => {
    const { sandbox, input, audit } = setup(
      { grant: { notes: ['tasks:read'] } },
      { services: { tasks: () => ({ list: { permission: 'tasks:read', call: () => ['t1'] } }) } },
    );
    const { ctx } = sandbox.contextFor(input('notes'), mod('notes', ['tasks:read']));
    const list = (ctx.services.tasks as { list: () => string[] }).list;
    expect(list()).toEqual(['t1']);
    sandbox.revoke('notes', 'tasks:read');
    const e = await denied(() => list());
    expect(isModhostError(e, 'PERMISSION_DENIED')).toBe(true);
    expect((e as Error).message).toContain('notes');
    expect((e as Error).message).toContain('"tasks:read"');
    expect((e as Error).message).toContain("sandbox.grant('notes', 'tasks:read')");
    expect(audit.query({ module: 'notes', kind: 'denial' })).toHaveLength(1);
    expect(audit.query({ module: 'notes', kind: 'revoke' })).toMatchObject([{ permission: 'tasks:read', decision: 'deny' }]);
    // Granting again restores the live capability.
    sandbox.grant('notes', 'tasks:read');
    expect(list()).toEqual(['t1']);
  });

  it('a tenant-level revoke leaves other tenants and host-wide contexts alone', () => {
    const { sandbox, input } = setup(
      { grant: { notes: ['tasks:read'] } },
      { services: { tasks: () => ({ list: { permission: 'tasks:read', call: () => 1 } }) } },
    );
    const def = mod('notes', ['tasks:read']);
    const acme = sandbox.contextFor(input('notes', { tenant: 'acme' }), def).ctx.services.tasks as { list: () => number };
    const globex = sandbox.contextFor(input('notes', { tenant: 'globex' }), def).ctx.services.tasks as { list: () => number };
    sandbox.revoke('notes', 'tasks:read', { tenant: 'acme' });
    expect(() => acme.list()).toThrow(/for tenant "acme"/);
    expect(globex.list()).toBe(1);
  });

  it('counts allowed calls per module and permission, with the first use time', () => {
    const { sandbox, input, audit, clock } = setup(
      { grant: { notes: ['tasks:read'] } },
      { services: { tasks: () => ({ list: { permission: 'tasks:read', call: () => 1 } }) } },
    );
    const tasks = sandbox.contextFor(input('notes'), mod('notes', ['tasks:read'])).ctx.services.tasks as { list: () => number };
    clock.advance(5);
    for (let i = 0; i < 10; i++) tasks.list();
    expect(audit.usage('notes')).toEqual([{ module: 'notes', tenant: undefined, permission: 'tasks:read', count: 10, firstUse: 1_005 }]);
  });

  it('services learn the caller from their factory, not from an argument', () => {
    const { sandbox, input } = setup({}, { services: { who: (caller) => ({ am: () => `${caller.module}@${caller.version}/${caller.tenant}` }) } });
    const who = sandbox.contextFor(input('notes', { tenant: 'acme' }), mod('notes', [])).ctx.services.who as { am: () => string };
    expect(who.am()).toBe('notes@1.0.0/acme');
  });

  it('dependency APIs keep #private members and this working (no Proxy)', () => {
    class Counter {
      #n = 0;
      inc() {
        this.#n += 1;
        return this.#n;
      }
    }
    const api = new Counter();
    const { sandbox, input } = setup();
    const { ctx } = sandbox.contextFor(input('reports', { deps: new Map([['tasks', () => api]]) }), mod('reports', []));
    const tasks = ctx.deps.tasks as { inc: () => number };
    expect(tasks.inc()).toBe(1);
    expect(tasks.inc()).toBe(2);
    // One view per API object, so identity holds between reads.
    expect(ctx.deps.tasks).toBe(ctx.deps.tasks);
  });

  it('refuses to mount routes without routes:mount', async () => {
    const { sandbox, input, audit } = setup();
    const def = defineModule({ name: 'web', version: '1.0.0', routes: [{ method: 'GET', path: '/', handler: () => ({ body: 1 }) }] });
    const e = await denied(() => sandbox.contextFor(input('web'), def));
    expect(isModhostError(e, 'PERMISSION_DENIED')).toBe(true);
    expect((e as Error).message).toContain('"routes:mount"');
    expect(audit.query({ kind: 'denial', module: 'web' })).toHaveLength(1);
  });

  it('net.fetch reaches granted hosts only, never follows redirects, and says what to grant', async () => {
    const calls: string[] = [];
    const fake = (async (url: URL, init: RequestInit) => {
      calls.push(`${url.href} ${init.redirect}`);
      return new Response('ok');
    }) as unknown as typeof fetch;
    const { sandbox, input, audit } = setup({ grant: { notes: ['net:fetch:*.example.com'] } }, { fetch: fake });
    const { ctx } = sandbox.contextFor(input('notes'), mod('notes', ['net:fetch:*.example.com']));
    await ctx.net?.fetch('https://api.example.com/x');
    expect(calls).toEqual(['https://api.example.com/x manual']);
    for (const url of [
      'https://example.com/',
      'https://api.example.com:8443/',
      'http://api.example.com/',
      'https://api.example.com.evil.io/',
      'file:///etc/passwd',
    ]) {
      const e = await denied(() => ctx.net?.fetch(url));
      expect(isModhostError(e, 'PERMISSION_DENIED'), url).toBe(true);
    }
    expect(calls).toHaveLength(1);
    expect(audit.query({ kind: 'denial' }).map((r) => r.permission)).toEqual([
      'net:fetch:example.com:443',
      'net:fetch:api.example.com:8443',
      'net:fetch:api.example.com:80',
      'net:fetch:api.example.com.evil.io:443',
      'net:fetch:file:',
    ]);
    expect(audit.usage('notes')[0]?.count).toBe(1);
  });

  it('a policy can decide in code what no table covers, per module, tenant and permission', () => {
    const asked: string[] = [];
    const { sandbox, input } = setup(
      {
        decide: ({ module, tenant, permission }) => {
          asked.push(`${module}/${tenant}/${permission}`);
          return tenant === 'acme' && permission === 'tasks:read';
        },
      },
      { services: { tasks: () => ({ list: { permission: 'tasks:read', call: () => 1 } }) } },
    );
    const def = mod('notes', ['tasks:read', 'storage:module']);
    expect(Object.keys(sandbox.contextFor(input('notes', { tenant: 'acme' }), def).ctx.services)).toEqual(['tasks']);
    expect(Object.keys(sandbox.contextFor(input('notes', { tenant: 'globex' }), def).ctx.services)).toEqual([]);
    expect(asked).toContain('notes/acme/tasks:read');
    expect(asked).toContain('notes/globex/storage:module');
  });
});
