// The kernel's spans as Prometheus samples: a span records its duration and outcome when it ends. It traces nothing
// (no traceparent); OpenTelemetry does that, beside it.
import type { SpanParent, Telemetry, TelemetryAttributes, TelemetrySpan } from '@modhost/core';
import type { MetricFamilies } from './metrics-families.js';
import { type LabelGuard, methodLabel, OTHER, oneOf, statusClass, statusLabel } from './metrics-labels.js';

type Attributes = Record<string, string | number | boolean | undefined>;
type Record_ = (span: MetricSpan, seconds: number, error: string | undefined) => void;

const NOOP_SPAN: TelemetrySpan = Object.freeze({ setAttributes() {}, end() {} });
const UPGRADE_OUTCOMES = ['switched', 'refused', 'failed', 'rolled-back', 'unchanged'];

/** A span being timed. The upgrade's switch step leaves its duration on its parent, for when `switch_ms` is absent. */
class MetricSpan implements TelemetrySpan {
  readonly start = performance.now();
  switchSeconds: number | undefined;
  // Attributes set after the start, kept apart: a request's status costs no copy of what it started with.
  private later: Attributes | undefined;
  private ended = false;
  constructor(
    private readonly record: Record_,
    private readonly attributes: TelemetryAttributes,
    readonly parent: MetricSpan | undefined,
  ) {}
  /** An attribute, the latest value set. */
  get(key: string): string | number | boolean | undefined {
    const later = this.later;
    return later !== undefined && key in later ? later[key] : this.attributes[key];
  }
  setAttributes(attributes: TelemetryAttributes): void {
    this.later = this.later === undefined ? { ...attributes } : Object.assign(this.later, attributes);
  }
  end(outcome?: { readonly error?: { readonly code: string; readonly message?: string } }): void {
    if (this.ended) return;
    this.ended = true;
    this.record(this, (performance.now() - this.start) / 1000, outcome?.error?.code);
  }
}

/** The labels of one request series, made once. */
interface RequestSeries {
  readonly counted: Record<'module' | 'route' | 'method' | 'status', string>;
  readonly timed: Record<'module' | 'route' | 'method' | 'status_class', string>;
}
type Value = string | number | boolean | undefined;

/** The telemetry that feeds `families`; `label` keeps module names, routes and other names bounded. */
export function createMetricsTelemetry(families: MetricFamilies, label: LabelGuard): Telemetry {
  const f = families;
  const outcome = (error: string | undefined) => (error === undefined ? 'ok' : 'error');
  const requestSeries = new Map<Value, Map<Value, Map<Value, Map<Value, RequestSeries>>>>();
  let cached = 0;

  const recorders: Readonly<Record<string, Record_>> = {
    'modhost.activation': (span, seconds, error) => {
      const activated = span.get('activated');
      const failed = span.get('failed');
      if (typeof activated === 'number' && activated > 0) f.activationModules.inc({ result: 'activated' }, activated);
      if (typeof failed === 'number' && failed > 0) f.activationModules.inc({ result: 'failed' }, failed);
      const bad = error !== undefined || (typeof failed === 'number' && failed > 0);
      f.activationDuration.observe({ outcome: bad ? 'failed' : 'ok' }, seconds);
    },
    'modhost.module.start': (span, seconds, error) => {
      f.moduleStartDuration.observe(
        { module: label('module', span.get('module')), reason: oneOf(span.get('reason'), ['activate', 'upgrade', 'restart']), outcome: outcome(error) },
        seconds,
      );
    },
    'modhost.module.phase': (span, seconds, error) => {
      f.modulePhaseDuration.observe(
        { module: label('module', span.get('module')), phase: oneOf(span.get('phase'), ['load', 'migrate', 'start', 'verify']), outcome: outcome(error) },
        seconds,
      );
    },
    'modhost.upgrade': (span, seconds, error) => {
      const module = label('module', span.get('module'));
      const result = span.get('outcome') !== undefined ? oneOf(span.get('outcome'), UPGRADE_OUTCOMES) : error !== undefined ? 'failed' : OTHER;
      f.upgrades.inc({ module, outcome: result });
      f.upgradeDuration.observe({ module, outcome: result }, seconds);
      // The kernel's own measure of the switch when it gives one, else the switch step's span: never both.
      const ms = span.get('switch_ms');
      const switched = typeof ms === 'number' ? ms / 1000 : span.switchSeconds;
      if (result === 'switched' && switched !== undefined) f.switchDuration.observe({ module }, switched);
    },
    'modhost.upgrade.step': (span, seconds) => {
      const step = oneOf(span.get('step'), ['start-beside', 'gate', 'handoff', 'canary', 'switch', 'drain']);
      f.upgradeStepDuration.observe({ module: label('module', span.get('module')), step }, seconds);
      if (step === 'switch' && span.parent !== undefined) span.parent.switchSeconds = seconds;
    },
    'modhost.rollback': (span, _seconds, error) => {
      const result = span.get('outcome') !== undefined ? oneOf(span.get('outcome'), ['rolled-back', 'refused']) : error !== undefined ? 'refused' : OTHER;
      f.rollbacks.inc({ module: label('module', span.get('module')), reason: oneOf(span.get('reason'), ['manual', 'health']), outcome: result });
    },
    'modhost.request': (span, seconds) => {
      // Never the tenant, never the raw path: the route is the pattern the module declared.
      const module = span.get('module');
      const route = span.get('route');
      const method = span.get('method');
      const status = span.get('status');
      // Looked up by the kernel's own strings (their hashes are cached), not by a key built per request.
      const byRoute = requestSeries.get(module) ?? requestSeries.set(module, new Map()).get(module);
      const byMethod = byRoute?.get(route) ?? byRoute?.set(route, new Map()).get(route);
      const byStatus = byMethod?.get(method) ?? byMethod?.set(method, new Map()).get(method);
      let series = byStatus?.get(status);
      if (series === undefined) {
        const m = label('module', module);
        const r = label('route', route);
        const verb = methodLabel(method);
        series = {
          counted: { module: m, route: r, method: verb, status: statusLabel(status) },
          timed: { module: m, route: r, method: verb, status_class: statusClass(status) },
        };
        // Keys are raw attribute values: bounded because the kernel sends patterns, and the labels are capped besides.
        if (cached++ < 10_000) byStatus?.set(status, series);
      }
      f.requests.inc(series.counted);
      f.requestDuration.observe(series.timed, seconds);
    },
    'modhost.guest.call': (span, seconds, error) => {
      f.guestCallDuration.observe(
        {
          module: label('module', span.get('module')),
          tier: oneOf(span.get('tier'), ['worker', 'process']),
          method: label('guest_method', span.get('method')),
          outcome: outcome(error),
        },
        seconds,
      );
    },
    'modhost.ctx.call': (span, seconds, error) => {
      f.ctxCallDuration.observe(
        {
          module: label('module', span.get('module')),
          tier: oneOf(span.get('tier'), ['worker', 'process']),
          capability: label('capability', span.get('capability')),
          outcome: outcome(error),
        },
        seconds,
      );
    },
    'modhost.storage': (span, seconds, error) => {
      const operation = oneOf(span.get('operation'), ['get', 'set', 'delete', 'keys', 'compareAndSet']);
      const adapter = label('adapter', span.get('adapter'));
      f.storageDuration.observe({ operation, adapter, outcome: outcome(error) }, seconds);
      if (error !== undefined) f.storageErrors.inc({ operation, adapter });
    },
  };

  return {
    startSpan(name: string, attributes: TelemetryAttributes, parent?: SpanParent): TelemetrySpan {
      const record = recorders[name];
      if (record === undefined) return NOOP_SPAN;
      return new MetricSpan(record, attributes, parent instanceof MetricSpan ? parent : undefined);
    },
  };
}
