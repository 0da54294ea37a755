/**
 * Closing an HTTP server whose clients keep their connections alive.
 *
 * Fastify's close stops listening, closes the connections idle at that moment (`forceCloseConnections: 'idle'`)
 * and waits for the others. A connection whose request was still being answered becomes idle after that, and a
 * keep-alive client (Node's fetch, browsers) leaves it open for Fastify's keepAliveTimeout, 72 s: a trial's
 * `edgelat serve` stopped by SIGTERM during a SQL query answered it at once (cancelled) and then waited 72 s more
 * to exit.
 */
import type { FastifyInstance } from 'fastify';

/**
 * While `app` closes, answer with `Connection: close`, and close each connection as soon as its response ends.
 *
 * Behaviour: from Fastify's `preClose` on, a response not yet sent carries `Connection: close` (Node then ends its
 * connection after it), and the end of each response closes the connections left idle
 * (`server.closeIdleConnections()`), which covers a response whose headers had already gone.
 * @param app  A Fastify instance, before it listens.
 */
export function closeConnectionsOnClose(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    app.server.closeIdleConnections();
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing && !reply.raw.headersSent) reply.header('Connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async () => {
    if (closing) app.server.closeIdleConnections();
  });
}
