import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { combineTelemetry, isTraceparent, noopTelemetry, type SpanParent, type Telemetry } from './telemetry.js';

/** A telemetry that records each span as `name<parent` with the parent as this telemetry saw it. */
function recorder(label: string) {
  const seen: string[] = [];
  let n = 0;
  const telemetry: Telemetry = {
    startSpan(name, _attributes, parent?: SpanParent) {
      const id = `${label}${++n}`;
      const from = parent === undefined ? '-' : typeof parent === 'string' ? parent : ((parent as { id?: string }).id ?? '?');
      seen.push(`${name}#${id}<${from}`);
      return { id, traceparent: label === 'a' ? `00-${'1'.repeat(32)}-${String(n).padStart(16, '0')}-01` : undefined, setAttributes() {}, end() {} } as never;
    },
  };
  return { telemetry, seen };
}

describe('combineTelemetry', () => {
  it('is the no-op without telemetries', () => {
    expect(combineTelemetry()).toBe(noopTelemetry);
    expect(combineTelemetry(undefined, noopTelemetry)).toBe(noopTelemetry);
  });

  it('feeds every telemetry, each child under that telemetry’s own parent span', () => {
    const a = recorder('a');
    const b = recorder('b');
    const t = combineTelemetry(a.telemetry, b.telemetry);
    const root = t.startSpan('root', {});
    t.startSpan('child', {}, root);
    t.startSpan('remote', {}, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(a.seen).toEqual(['root#a1<-', 'child#a2<a1', 'remote#a3<00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']);
    expect(b.seen).toEqual(['root#b1<-', 'child#b2<b1', 'remote#b3<00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']);
    expect(root.traceparent).toBe(`00-${'1'.repeat(32)}-0000000000000001-01`);
  });

  it('one telemetry: its own span is the parent it gets back', () => {
    const a = recorder('a');
    const t = combineTelemetry(a.telemetry);
    t.startSpan('child', {}, t.startSpan('root', {}));
    expect(a.seen).toEqual(['root#a1<-', 'child#a2<a1']);
  });

  it('a telemetry that throws (start, attributes, end) never throws into the work, and the others still record', () => {
    const throwing: Telemetry = {
      startSpan: (name) => {
        if (name === 'start') throw new Error('exporter down');
        return {
          setAttributes: () => {
            throw new Error('no');
          },
          end: () => {
            throw new Error('no');
          },
        };
      },
    };
    const a = recorder('a');
    for (const t of [combineTelemetry(throwing), combineTelemetry(throwing, a.telemetry)]) {
      expect(() => t.startSpan('start', {}).end()).not.toThrow();
      const span = t.startSpan('other', {});
      expect(() => span.setAttributes({ x: 1 })).not.toThrow();
      expect(() => span.end({ error: { code: 'X' } })).not.toThrow();
    }
    expect(a.seen).toEqual(['start#a1<-', 'other#a2<-']);
  });
});

describe('isTraceparent', () => {
  it('takes a well-formed version-00 header with non-zero ids', () => {
    expect(isTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(true);
    for (const bad of [
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ',
      42,
      undefined,
    ])
      expect(isTraceparent(bad)).toBe(false);
  });

  it('whatever a client or a guest sends, only the exact shape passes', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(isTraceparent(s)).toBe(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(s) && !/^00-0{32}-/.test(s) && !/-0{16}-/.test(s));
      }),
    );
  });
});
