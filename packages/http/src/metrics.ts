// `@modhost/http/metrics`: Prometheus exposition over prom-client (an optional peer). Only this subpath loads it.
export { createMetrics, type Metrics, type MetricsOptions } from './metrics-create.js';
export type { MetricsBuckets } from './metrics-families.js';
export type { MetricsHost, MetricsHostEvents } from './metrics-observe.js';
