// `@modhost/http/health`: liveness and readiness endpoints for a host.

export {
  createHealthEndpoints,
  type HealthEndpoints,
  type HealthEndpointsHost,
  type HealthEndpointsOptions,
  type ReadinessModule,
  type ReadinessReason,
} from './health-endpoints.js';
export { createEventLoopDelaySampler, type EventLoopDelaySampler } from './health-event-loop.js';
