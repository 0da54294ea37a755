/**
 * A small Confluent Schema Registry on fastify, implementing the REST subset
 * edgelat uses (Confluent Schema Registry API reference): `POST
 * /subjects/{subject}/versions` -> `{"id"}` (the same schema text gets the same
 * global id under any subject; 422 / 42201 for a schema that is not JSON) and
 * `GET /schemas/ids/{id}` -> `{"schema"}` (404 / 40403 for an unknown id), with
 * optional HTTP basic auth (401) and an outage switch (503 / 50003). Test-only.
 */
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';

/** One request as the stub received it. */
export interface StubRequest {
  method: string;
  url: string;
  contentType: string | undefined;
  authorization: string | undefined;
}

/** A running registry stub. */
export interface SchemaRegistryStub {
  /** Base URL without credentials, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Base URL with `user:password@` when the stub requires basic auth, else {@link url}. */
  urlWithCredentials: string;
  /** Every request, in arrival order (also refused ones). */
  requests: StubRequest[];
  /** Subject -> ids registered under it, oldest first. */
  subjects: Map<string, number[]>;
  /** Schema text as registered, by id. */
  schemas: Map<number, string>;
  /** While true, every request gets 503 (the registry is down). */
  down: boolean;
  /** Stop listening. */
  close(): Promise<void>;
}

/**
 * Start the stub on a random loopback port.
 * @param options.username / options.password  Require HTTP basic auth with these credentials. @default none
 * @param options.firstId  Id given to the first new schema; later ones count up. @default 41
 */
export async function startSchemaRegistryStub(options: { username?: string; password?: string; firstId?: number } = {}): Promise<SchemaRegistryStub> {
  const app = Fastify({ logger: false });
  const requests: StubRequest[] = [];
  const subjects = new Map<string, number[]>();
  const schemas = new Map<number, string>();
  const idByCanonical = new Map<string, number>();
  let nextId = options.firstId ?? 41;
  const expectedAuth = options.username === undefined ? null : `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
  const state = { down: false };

  app.addContentTypeParser(['application/vnd.schemaregistry.v1+json', 'application/vnd.schemaregistry+json'], { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addHook('onRequest', async (req, reply) => {
    requests.push({ method: req.method, url: req.url, contentType: req.headers['content-type'], authorization: req.headers.authorization });
    if (state.down) return reply.code(503).send({ error_code: 50003, message: 'Error while forwarding the request to the leader' });
    if (expectedAuth !== null && req.headers.authorization !== expectedAuth) return reply.code(401).send({ error_code: 401, message: 'Unauthorized' });
    return undefined;
  });
  app.post<{ Params: { subject: string }; Body: { schema?: unknown; schemaType?: unknown } }>('/subjects/:subject/versions', async (req, reply) => {
    const { schema, schemaType } = req.body ?? {};
    if (schemaType !== undefined && schemaType !== 'AVRO') return reply.code(422).send({ error_code: 42201, message: `unsupported schemaType ${String(schemaType)}` });
    let canonical: string;
    try {
      canonical = JSON.stringify(JSON.parse(String(schema)));
    } catch {
      return reply.code(422).send({ error_code: 42201, message: 'Invalid schema' });
    }
    let id = idByCanonical.get(canonical);
    if (id === undefined) {
      id = nextId++;
      idByCanonical.set(canonical, id);
      schemas.set(id, String(schema));
    }
    const ids = subjects.get(req.params.subject) ?? [];
    if (!ids.includes(id)) ids.push(id);
    subjects.set(req.params.subject, ids);
    return reply.type('application/vnd.schemaregistry.v1+json').send({ id });
  });
  app.get<{ Params: { id: string } }>('/schemas/ids/:id', async (req, reply) => {
    const schema = schemas.get(Number(req.params.id));
    if (schema === undefined) return reply.code(404).send({ error_code: 40403, message: `Schema ${req.params.id} not found` });
    return reply.type('application/vnd.schemaregistry.v1+json').send({ schema });
  });

  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const credentials = options.username === undefined ? '' : `${encodeURIComponent(options.username)}:${encodeURIComponent(options.password ?? '')}@`;
  return {
    url,
    urlWithCredentials: `http://${credentials}127.0.0.1:${port}`,
    requests,
    subjects,
    schemas,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    close: () => app.close(),
  };
}
