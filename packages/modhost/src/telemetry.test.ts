import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineModule, memoryStorage, type SpanParent, type Telemetry, type TelemetryAttributes } from '@modhost/core';
import { createRequestListener } from '@modhost/http/node';
import { silentLogger } from '@modhost/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { testHost } from '../test/folders.js';
import { createHost } from './host.js';

/** A span as the recording telemetry keeps it. */
interface Recorded {
  readonly id: string;
  readonly name: string;
  readonly parent: string | undefined;
  attributes: Record<string, unknown>;
  ended: boolean;
  error?: string;
}

/** Telemetry that keeps every span with its parent (an id it made, or a traceparent's span id). */
function recording() {
  const spans: Recorded[] = [];
  let next = 0;
  const idOf = (parent: SpanParent) =>
    parent === undefined ? undefined : typeof parent === 'string' ? parent.split('-')[2] : (parent.traceparent?.split('-')[2] as string);
  const telemetry: Telemetry = {
    startSpan(name: string, attributes: TelemetryAttributes, parent?: SpanParent) {
      const id = (++next).toString(16).padStart(16, '0');
      const span: Recorded = { id, name, parent: idOf(parent), attributes: { ...attributes }, ended: false };
      spans.push(span);
      return {
        traceparent: `00-${'a'.repeat(32)}-${id}-01`,
        setAttributes: (a) => Object.assign(span.attributes, a),
        end: (o) => {
          span.ended = true;
          if (o?.error) span.error = o.error.code;
        },
      };
    },
  };
  const named = (name: string, attrs: Record<string, unknown> = {}) =>
    spans.filter((s) => s.name === name && Object.entries(attrs).every(([k, v]) => s.attributes[k] === v));
  const children = (of: Recorded, name?: string) => spans.filter((s) => s.parent === of.id && (name === undefined || s.name === name));
  return { telemetry, spans, named, children };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the kernel reports its work as spans', () => {
  it('an activation: one span, a module span per module, a phase span per phase, failures marked', async () => {
    const rec = recording();
    const ok = defineModule({ name: 'ok', version: '1.0.0', health: () => true });
    const broken = defineModule({
      name: 'broken',
      version: '1.0.0',
      activate: () => {
        throw new Error('no database');
      },
    });
    const host = createHost({ version: '1.0.0', modules: [ok, broken], logger: silentLogger, telemetry: rec.telemetry });
    cleanups.push(() => host.stop());
    await host.start();
    const [activation] = rec.named('modhost.activation');
    expect(activation).toMatchObject({ ended: true, attributes: { modules: 2, activated: 1, failed: 1 } });
    const starts = rec.children(activation as Recorded, 'modhost.module.start');
    expect(starts.map((s) => s.attributes.module).sort()).toEqual(['broken', 'ok']);
    const okStart = starts.find((s) => s.attributes.module === 'ok') as Recorded;
    expect(rec.children(okStart).map((s) => s.attributes.phase)).toEqual(['load', 'start', 'verify']);
    const brokenStart = starts.find((s) => s.attributes.module === 'broken') as Recorded;
    expect(brokenStart.error).toBe('Error');
    expect(rec.children(brokenStart).map((s) => [s.attributes.phase, s.error])).toEqual([
      ['load', undefined],
      ['start', 'Error'],
    ]);
    expect(rec.spans.every((s) => s.ended)).toBe(true);
  });

  it('an upgrade: start beside (with the new version’s phases), switch, and the drain when the window closes; a rollback', async () => {
    const rec = recording();
    const t = (v: string) => defineModule({ name: 'tasks', version: v, health: () => true });
    const { host, clock } = testHost(cleanups, { modules: [t('1.0.0')], telemetry: rec.telemetry, rollbackWindowMs: 1_000, modulesDir: undefined });
    await host.start();
    await host.registry.register(t('1.1.0'));
    await host.upgrade('tasks', '1.1.0');
    const [upgrade] = rec.named('modhost.upgrade');
    expect(upgrade).toMatchObject({ attributes: { module: 'tasks', from: '1.0.0', to: '1.1.0', canary: false, outcome: 'switched' }, ended: true });
    const steps = rec.children(upgrade as Recorded, 'modhost.upgrade.step');
    expect(steps.map((s) => s.attributes.step)).toEqual(['start-beside', 'switch']);
    const [started] = rec.children(steps[0] as Recorded, 'modhost.module.start');
    expect(started).toMatchObject({ attributes: { module: 'tasks', version: '1.1.0', reason: 'upgrade' } });
    expect(rec.children(started as Recorded).map((s) => s.attributes.phase)).toEqual(['load', 'start', 'verify']);

    await host.rollback('tasks');
    expect(rec.named('modhost.rollback')).toMatchObject([
      { attributes: { module: 'tasks', from: '1.1.0', to: '1.0.0', reason: 'manual', outcome: 'rolled-back' } },
    ]);

    await host.registry.clearRejection('tasks', '1.1.0');
    await host.upgrade('tasks', '1.1.0');
    clock.advance(1_000);
    await new Promise((r) => setImmediate(r));
    const second = rec.named('modhost.upgrade')[1] as Recorded;
    await expect.poll(() => rec.children(second, 'modhost.upgrade.step').map((s) => s.attributes.step)).toEqual(['start-beside', 'switch', 'drain']);
  });

  it('a refused upgrade ends its span as failed, with the outcome', async () => {
    const rec = recording();
    const t = (v: string, dep?: string) => defineModule({ name: 'tasks', version: v, ...(dep ? { dependencies: { missing: dep } } : {}) });
    const host = createHost({ version: '1.0.0', modules: [t('1.0.0')], logger: silentLogger, telemetry: rec.telemetry });
    cleanups.push(() => host.stop());
    await host.start();
    await host.registry.register(t('2.0.0', '^1.0.0'));
    expect((await host.upgrade('tasks', '2.0.0')).ok).toBe(false);
    expect(rec.named('modhost.upgrade')).toMatchObject([{ attributes: { outcome: 'refused' }, error: 'DEPENDENCY_UNSATISFIED', ended: true }]);
  });

  it('requests: a span per dispatched request under the caller’s traceparent, with the route pattern; the handler gets its traceparent', async () => {
    const rec = recording();
    let seen: string | undefined;
    const items = defineModule({
      name: 'items',
      version: '1.0.0',
      permissions: ['routes:mount'],
      routes: [
        {
          method: 'GET',
          path: '/:id',
          handler: (req) => {
            seen = req.traceparent;
            if (req.params.id === 'boom') throw new Error('secret detail');
            return { body: { id: req.params.id } };
          },
        },
      ],
    });
    const host = createHost({
      version: '1.0.0',
      modules: [items],
      logger: silentLogger,
      telemetry: rec.telemetry,
      policy: { grant: { '*': ['routes:mount'] } },
    });
    cleanups.push(() => host.stop());
    await host.start();
    const server = createServer(createRequestListener(host, { onError: () => {} }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const incoming = `00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-00f067aa0ba902b7-01`;

    expect((await fetch(`${base}/items/42`, { headers: { traceparent: incoming } })).status).toBe(200);
    const [first] = rec.named('modhost.request');
    expect(first).toMatchObject({
      parent: '00f067aa0ba902b7',
      attributes: { module: 'items', version: '1.0.0', method: 'GET', route: '/:id', status: 200 },
      ended: true,
    });
    expect(seen?.split('-')[2]).toBe(first?.id);

    expect((await fetch(`${base}/items/boom`, { headers: { traceparent: 'not-a-traceparent' } })).status).toBe(500);
    expect(rec.named('modhost.request')[1]).toMatchObject({ parent: undefined, attributes: { route: '/:id', status: 500 }, error: 'Error' });
    // A request no module serves is not a module's request.
    expect((await fetch(`${base}/nothing/here`)).status).toBe(404);
    expect(rec.named('modhost.request')).toHaveLength(2);
  });

  it('a worker module: the call into the guest and its ctx calls hang under the request', async () => {
    const rec = recording();
    const { host, folder } = testHost(cleanups, { telemetry: rec.telemetry, defaultIsolation: 'worker', minimumIsolation: 'worker' });
    folder.write(
      'notes',
      { name: 'notes', version: '1.0.0', permissions: ['routes:mount', 'storage:module'], routes: [{ method: 'GET', path: '/' }] },
      `export default { routes: [{ method: 'GET', path: '/', handler: async (req, ctx) => ({ body: { n: (await ctx.storage.get('n')) ?? 0 } }) }] };`,
    );
    await host.start();
    const server = createServer(createRequestListener(host, { onError: () => {} }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/notes`);
    expect(await res.json()).toEqual({ n: 0 });
    const [request] = rec.named('modhost.request');
    const [guestCall] = rec.children(request as Recorded, 'modhost.guest.call');
    expect(guestCall).toMatchObject({ attributes: { module: 'notes', tier: 'worker', method: 'route' }, ended: true });
    expect(rec.children(request as Recorded, 'modhost.ctx.call')).toMatchObject([
      { attributes: { module: 'notes', tier: 'worker', capability: 'storage.get' }, ended: true },
    ]);
  });

  it('storage operations, with the adapter that failed marked', async () => {
    const rec = recording();
    const storage = memoryStorage();
    const host = createHost({
      version: '1.0.0',
      storage,
      logger: silentLogger,
      telemetry: rec.telemetry,
      modules: [defineModule({ name: 'a', version: '1.0.0' })],
    });
    cleanups.push(() => host.stop());
    await host.start();
    const ops = new Set(rec.named('modhost.storage').map((s) => s.attributes.operation));
    expect(ops.has('get') && ops.has('compareAndSet')).toBe(true);
    expect(rec.named('modhost.storage').every((s) => s.attributes.adapter === 'memory' && s.ended)).toBe(true);
  });

  it('a telemetry that throws never breaks the host', async () => {
    const throwing: Telemetry = {
      startSpan: () => {
        throw new Error('exporter down');
      },
    };
    const host = createHost({ version: '1.0.0', logger: silentLogger, telemetry: [throwing], modules: [defineModule({ name: 'a', version: '1.0.0' })] });
    cleanups.push(() => host.stop());
    expect((await host.start()).ok).toBe(true);
  });
});
