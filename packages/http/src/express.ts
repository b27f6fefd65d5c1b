import type { NextFunction, Request, Response } from 'express';
import { fromNodeRequest, nodeBody, sendNodeResponse } from './node.js';
import { handlerFor } from './pipeline.js';
import type { HttpBody, HttpHandler, HttpHandlerOptions, HttpHost } from './types.js';

/** Whether a body parser (`express.json()`, `express.text()`, `express.raw()`, …) already read this request's body. */
function bodyOf(req: Request): HttpBody {
  const parsed = (req as Request & { _body?: boolean })._body === true || req.readableEnded;
  if (!parsed) return nodeBody(req);
  return req.body === undefined ? { kind: 'none' } : { kind: 'parsed', value: req.body };
}

/**
 * Express 5 middleware serving modules' routes through the pipeline. Mount it anywhere, before or after
 * `express.json()`: `app.use('/modules', modhostExpress(host, options))`. A request no enabled module serves goes on
 * to the next handler (`next()`), so the app's own routes and 404 still answer.
 */
export function modhostExpress<P = unknown>(
  source: HttpHost | HttpHandler,
  options: HttpHandlerOptions<P> = {},
): (req: Request, res: Response, next: NextFunction) => void {
  const handler = handlerFor(source, options);
  return (req, res, next) => {
    // `req.url` is relative to where the middleware is mounted; `originalUrl` is not.
    const request = fromNodeRequest(req, { body: bodyOf(req) });
    handler.handle(request).then(
      (response) => (response ? sendNodeResponse(res, response) : next()),
      // The pipeline never rejects; should it, Express's error handler gets it.
      next,
    );
  };
}
