import { z } from 'zod';
import type { Endpoint } from './management-endpoints.js';
import { responses } from './management-schemas.js';

const schemaOf = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' });

/** An endpoint's request bodies: its JSON schema, and raw bytes under each upload type. */
function requestBodyOf(e: Endpoint): Record<string, unknown> | undefined {
  if (!e.body && !e.uploadTypes) return undefined;
  const content: Record<string, unknown> = {};
  if (e.body) content['application/json'] = { schema: schemaOf(e.body, 'input') };
  for (const type of e.uploadTypes ?? []) content[type] = { schema: { type: 'string', format: 'binary', description: 'a module package: .tgz, .tar or .zip' } };
  return { required: true, content };
}

/** The OpenAPI 3.1 document of the management API, generated from the endpoints' zod schemas. */
export function openApiDocument(endpoints: readonly Endpoint[], options: { title: string; version: string; prefix: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const problem = { description: 'A problem document (RFC 9457)', content: { 'application/problem+json': { schema: schemaOf(responses.problem, 'output') } } };
  for (const e of endpoints) {
    const path = e.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const params = [...e.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    paths[path] ??= {};
    const requestBody = requestBodyOf(e);
    (paths[path] as Record<string, unknown>)[e.method.toLowerCase()] = {
      summary: e.summary,
      operationId: e.action,
      'x-modhost-role': e.role,
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses: {
        [e.method === 'POST' && e.path === '/modules' ? '201' : '200']: {
          description: 'OK',
          content: { 'application/json': { schema: schemaOf(e.response, 'output') } },
        },
        '400': problem,
        '401': problem,
        '403': problem,
        '404': problem,
        ...(requestBody ? { '413': problem, '415': problem } : {}),
        ...(e.changes ? { '409': problem, '422': problem } : {}),
        '500': problem,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: options.title, version: options.version },
    servers: [{ url: options.prefix }],
    components: { securitySchemes: { app: { type: 'http', scheme: 'bearer', description: "the app's own authentication (authenticate / resolveTenant)" } } },
    security: [{ app: [] }],
    paths,
  };
}
