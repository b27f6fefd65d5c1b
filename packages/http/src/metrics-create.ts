// Prometheus metrics for a host: a telemetry for `createHost` (spans), `observe(host)` (events, audit, status, fleet)
// and a handler that answers the scrape. prom-client is loaded by this subpath only.
import { type Clock, ModhostError, summarizeCause, systemClock, type Telemetry } from '@modhost/core';
import { Registry } from 'prom-client';
import { createFamilies, type MetricsBuckets } from './metrics-families.js';
import { createMetricsHandler } from './metrics-handler.js';
import { createLabelGuard } from './metrics-labels.js';
import { type MetricsHost, observeHost } from './metrics-observe.js';
import { createMetricsTelemetry } from './metrics-telemetry.js';
import type { HttpHandler, HttpRequest } from './types.js';

/** Options for {@link createMetrics}. Everything has a default. */
export interface MetricsOptions {
  /** The app's own prom-client registry, so its metrics and modhost's share one scrape. Default: a new `Registry`. */
  registry?: Registry;
  /** Put before every metric name (default `modhost_`). */
  prefix?: string;
  /** Histogram buckets, seconds, by what they time (see {@link MetricsBuckets}); each has a default. */
  buckets?: MetricsBuckets;
  /** The path {@link Metrics.handler} answers, below where it is mounted (default `/metrics`). */
  path?: string;
  /** Who may scrape; `false` answers 403. Default: everyone who reaches the handler (mount it where only Prometheus does). */
  authorize?: (request: HttpRequest) => boolean | Promise<boolean>;
  /**
   * How many distinct values one label (module, route, adapter, host_instance, …) may take; past it, new values read
   * `other` and `modhost_metrics_label_overflow_total` counts them (default 1,000).
   */
  maxLabelValues?: number;
  /** Told when a scrape fails (it answers 500). Default: one line on `console.error`. */
  onError?: (error: unknown, requestId: string) => void;
  /** The clock lease ages and convergence lag are measured with (default: the system clock; the host's own, in tests). */
  clock?: Clock;
}

/** Prometheus metrics for a host. */
export interface Metrics {
  /** The registry the metrics are in (the one given, or the one made). */
  readonly registry: Registry;
  /** Pass to `createHost({ telemetry })`: activations, upgrades, requests, calls and storage become histograms and counters. */
  readonly telemetry: Telemetry;
  /** Answers `GET /metrics` with the exposition (`text/plain; version=0.0.4`); mount it with any adapter. */
  readonly handler: HttpHandler;
  /**
   * Counts `host`'s lifecycle events and audit records (denials, quotas, crashes, restarts), and reads its status and
   * fleet view at each scrape. One host at a time; returns the function that stops observing it.
   */
  observe(host: MetricsHost): () => void;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Prometheus metrics over prom-client. Two steps, because the host takes its telemetry when it is made:
 *
 * ```ts
 * const metrics = createMetrics({ registry: appRegistry });
 * const host = createHost({ version: '1.0.0', telemetry: metrics.telemetry });
 * metrics.observe(host);
 * app.use(modhostExpress(metrics.handler));
 * ```
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const prefix = options.prefix ?? 'modhost_';
  if (prefix !== '' && !METRIC_NAME.test(prefix))
    throw new ModhostError('INVALID_ARGUMENT', `createMetrics: prefix "${prefix}" is not a Prometheus metric name prefix (letters, digits, _ and :)`, {
      details: { argument: 'prefix' },
    });
  const max = options.maxLabelValues ?? 1000;
  if (!Number.isInteger(max) || max < 1)
    throw new ModhostError('INVALID_ARGUMENT', `createMetrics: maxLabelValues must be a positive integer, not ${max}`, {
      details: { argument: 'maxLabelValues' },
    });
  const path = options.path ?? '/metrics';
  if (!path.startsWith('/')) throw new ModhostError('INVALID_ARGUMENT', `createMetrics: path "${path}" must start with "/"`, { details: { argument: 'path' } });
  const registry = options.registry ?? new Registry();
  const clock = options.clock ?? systemClock;

  let observed: ReturnType<typeof observeHost> | undefined;
  // One collection per scrape, shared by every gauge it fills (they are read at once).
  let collecting: Promise<void> | undefined;
  const collect = () => {
    if (observed === undefined) return Promise.resolve();
    const current = observed;
    collecting ??= current
      .collect()
      .catch(() => {
        // The storage may be down: the scrape still answers, with the counters, and says the gauges are missing.
        families.collectErrors.inc();
        for (const g of [families.modules, families.modulesByHealth, families.moduleInfo, families.fleetAlive, families.fleetLeaseAge]) g.reset();
        for (const g of [families.fleetDiverged, families.fleetLag]) g.reset();
      })
      .finally(() => {
        collecting = undefined;
      });
    return collecting;
  };
  const families = createFamilies(registry, prefix, options.buckets ?? {}, collect);
  const label = createLabelGuard(max, (name) => families.labelOverflow.inc({ label: name }));
  const onError = options.onError ?? ((error: unknown, id: string) => console.error(`[modhost] metrics scrape ${id}: ${summarizeCause(error)}`));

  return {
    registry,
    telemetry: createMetricsTelemetry(families, label),
    handler: createMetricsHandler(registry, { path, authorize: options.authorize, onError }),
    observe(host) {
      if (observed !== undefined)
        throw new ModhostError(
          'INVALID_ARGUMENT',
          'metrics.observe: these metrics already observe a host; call the function observe() returned before observing another (or make one createMetrics per host, each with its own prefix or registry)',
          { details: { argument: 'host' } },
        );
      const mine = observeHost(host, families, label, clock);
      observed = mine;
      return () => {
        mine.stop();
        if (observed === mine) observed = undefined;
      };
    },
  };
}
