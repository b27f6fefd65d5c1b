export { createHttpHandler } from './pipeline.js';
export { type ProblemOptions, problem } from './problem.js';
export { requestIdOf } from './request-id.js';
export type { AuthorizeRequest, HttpBody, HttpHandler, HttpHandlerOptions, HttpHost, HttpRequest, HttpResponse } from './types.js';
