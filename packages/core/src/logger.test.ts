import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { childLogger, createJsonLogger, fromPino, type PinoLike } from './logger.js';
import type { Logger } from './module.js';

const capture = (level?: 'debug' | 'info' | 'warn' | 'error') => {
  const lines: string[] = [];
  const log = createJsonLogger({ write: (l) => lines.push(l), now: () => 42, ...(level ? { level } : {}) });
  return { lines, log, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
};

describe('createJsonLogger', () => {
  it('writes one JSON object per record in pino’s shape, at and above its level', () => {
    const { log, records } = capture('info');
    log.debug('hidden');
    log.info('started', { items: 3 });
    log.error('failed', { code: 'X' });
    expect(records()).toEqual([
      { level: 'info', time: 42, msg: 'started', items: 3 },
      { level: 'error', time: 42, msg: 'failed', code: 'X' },
    ]);
  });

  it('child bindings are on every record and win over fields of the same name', () => {
    const { log, records } = capture();
    const tasks = log.child({ module: 'tasks', version: '1.0.0' });
    tasks.warn('slow', { module: 'billing', ms: 900 });
    childLogger(tasks, { tenant: 'acme' }).info('served');
    expect(records()).toEqual([
      { level: 'warn', time: 42, msg: 'slow', module: 'tasks', version: '1.0.0', ms: 900 },
      { level: 'info', time: 42, msg: 'served', module: 'tasks', version: '1.0.0', tenant: 'acme' },
    ]);
  });

  it('every line is one line of valid JSON, whatever the message and fields hold (cycles, BigInt, newlines)', () => {
    fc.assert(
      fc.property(fc.string(), fc.dictionary(fc.string(), fc.anything({ withBigInt: true })), (msg, fields) => {
        const { lines, log } = capture('debug');
        const cyclic: Record<string, unknown> = { ...fields };
        cyclic.self = cyclic;
        log.info(msg, fields);
        log.info(msg, cyclic);
        for (const line of lines) {
          expect(line.includes('\n')).toBe(false);
          expect(JSON.parse(line)).toMatchObject({ level: 'info', msg });
        }
      }),
    );
  });
});

describe('fromPino and childLogger', () => {
  it('fromPino calls pino with fields first, and child is pino’s child', () => {
    const calls: unknown[][] = [];
    const fake = (bindings: Record<string, unknown>): PinoLike => ({
      debug: (o, m) => calls.push(['debug', { ...bindings, ...o }, m]),
      info: (o, m) => calls.push(['info', { ...bindings, ...o }, m]),
      warn: (o, m) => calls.push(['warn', { ...bindings, ...o }, m]),
      error: (o, m) => calls.push(['error', { ...bindings, ...o }, m]),
      child: (b) => fake({ ...bindings, ...b }),
    });
    const log = fromPino(fake({}));
    log.info('a', { n: 1 });
    log.child({ module: 'tasks' }).error('b');
    expect(calls).toEqual([
      ['info', { n: 1 }, 'a'],
      ['error', { module: 'tasks' }, 'b'],
    ]);
  });

  it('childLogger binds fields on a logger that has no child of its own', () => {
    const seen: unknown[] = [];
    const plain: Logger = { debug() {}, info: (m, f) => seen.push([m, f]), warn() {}, error() {} };
    childLogger(childLogger(plain, { module: 'tasks' }), { tenant: 'acme' }).info('hi', { module: 'forged', n: 2 });
    expect(seen).toEqual([['hi', { module: 'tasks', tenant: 'acme', n: 2 }]]);
  });
});
