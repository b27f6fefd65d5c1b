import { defineModule, type ModuleDefinition } from '@modhost/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ManagementServer, startManagementServer } from '../test/management-server.js';

// The read-only endpoints the admin console reads (inspect, graph): what they must never tell a viewer.

/** A module whose config schema carries its secrets as defaults (zod's `.default()`), as apps write them. */
const vault = defineModule({
  name: 'vault',
  version: '1.0.0',
  config: {
    schema: z.object({
      token: z.string().default('sk-live-zod-default'),
      db: z.object({ host: z.string().default('db.internal'), password: z.string().default('hunter2-nested') }).default({
        host: 'db.internal',
        password: 'hunter2-outer',
      }),
      retries: z.number().int().default(3),
    }),
    defaults: {},
    sensitive: ['token', 'db.password'],
  },
});

let f: ManagementServer;
beforeAll(async () => {
  f = await startManagementServer({ modules: [vault as unknown as ModuleDefinition] });
});
afterAll(() => f.close());

describe('GET /modules/:name/inspect', () => {
  it("the config's JSON Schema keeps no sensitive value: defaults at sensitive paths are masked, others stay", async () => {
    const r = await f.call('GET', '/modules/vault/inspect', 'viewer-token');
    expect(r.status).toBe(200);
    const text = JSON.stringify(r.body);
    for (const secret of ['sk-live-zod-default', 'hunter2-nested', 'hunter2-outer']) expect(text).not.toContain(secret);
    const props = r.body.config.schema.properties;
    // What is not sensitive still helps the form.
    expect(props.retries.default).toBe(3);
    expect(props.db.properties.host.default).toBe('db.internal');
    expect(props.db.default.host).toBe('db.internal');
  });
});

describe('GET /graph', () => {
  it("a plan that fails with an error that is not a ModhostError: the graph says so without the error's text", async () => {
    const host = f.host as unknown as { plan: () => Promise<unknown> };
    const plan = host.plan;
    host.plan = async () => {
      throw new Error('connect ECONNREFUSED postgres://modhost:s3cret@db.internal:5432');
    };
    try {
      const r = await f.call('GET', '/graph', 'viewer-token');
      expect(r.status).toBe(200);
      expect(r.body.plan.ok).toBe(false);
      expect(JSON.stringify(r.body)).not.toContain('s3cret');
      expect(JSON.stringify(r.body)).not.toContain('db.internal');
    } finally {
      host.plan = plan;
    }
  });
});
