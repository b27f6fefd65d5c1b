// The management API's answers, as the console reads them.

/** One module in `GET /modules`. */
export interface ModuleSummary {
  name: string;
  version: string;
  status: string;
  state: string;
  health: { status: string; detail?: string };
  isolation: string;
  lastError?: { code: string; message: string; phase?: string; hint?: string };
}

/** `GET /modules/:name`. */
export interface ModuleDetail extends ModuleSummary {
  desiredVersion: string | null;
  versions: { version: string; state: string; rejected: boolean; history: { from: string | null; to: string; at: number }[] }[];
  access: 'host' | 'tenants';
  tenants: string[];
  config: { values: Record<string, unknown>; issues: unknown[] };
  instances: { id: string; alive: boolean; version: string; state: string }[];
  refused?: { version: string; code: string; message: string };
}

/** `GET /modules/:name/inspect`. */
export interface ModuleInspect {
  name: string;
  version: string;
  displayName?: string;
  description?: string;
  stateMode: string;
  dependencies: Record<string, string>;
  dependents: { name: string; range: string }[];
  routes: { method: string; path: string; permission?: string }[];
  jobs: { name: string; schedule: string }[];
  migrations: { declared: { name: string; reversible: boolean }[]; applied: { name: string; batch: number; version: string; at: number }[] | null };
  permissions: { requested: number; granted: number; denied: number; list: { permission: string; granted: boolean; uses: number }[] };
  config: {
    schema: JsonSchema | null;
    sensitive: string[];
    presets: string[];
    values: Record<string, unknown>;
    layers: { host: Record<string, unknown>; tenant: Record<string, unknown> };
  };
  versions: { version: string; description?: string; changes: string[] }[];
  health: { status: string; detail?: string; history: { at: number; status: string; detail?: string }[] };
  canary: boolean;
}

/** The JSON Schema subset the config form draws. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  description?: string;
  title?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  items?: JsonSchema;
}

/** `GET /graph`. */
export interface Graph {
  nodes: { name: string; version: string | null; state: string; status: string; wave: number }[];
  edges: { from: string; to: string; range: string; optional: boolean }[];
  waves: string[][];
  plan: { ok: boolean; explanation?: string };
}

/** `GET /tenants`. */
export interface Tenants {
  tenants: { tenant: string; modules: { name: string; enabled: boolean; range?: string; overrides: Record<string, unknown> }[] }[];
}

/** One audit record. */
export interface AuditRecord {
  seq: number;
  at: number;
  action: string;
  module?: string;
  tenant?: string;
  principal?: unknown;
  outcome: string;
  error?: { code: string; message: string };
}
