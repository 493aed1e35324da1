import https from 'node:https';
import http from 'node:http';
import { finished } from 'node:stream';
import { createSecureContext, type SecureContext } from 'node:tls';
import { resourcePath, type ObjectRef } from './resources.js';
import type { KubeAuth, TlsConfig } from './auth.js';
import { RequestCanceller } from './cancel.js';
import { LineSplitter } from './lines.js';
import { FlannelOperatorError, type ErrorCode } from '../errors.js';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: Array<{ reason?: string; message?: string; field?: string }>;
  retryAfterSeconds?: number;
}

/** An error answer of the API server (a metav1.Status) or a transport failure (status 0). */
export class KubeApiError extends FlannelOperatorError {
  readonly code: ErrorCode;
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
    readonly details?: StatusDetails,
    readonly method?: string,
    readonly path?: string,
  ) {
    super(message);
    this.code =
      status === 0 ? 'EKUBE_TRANSPORT' : `EKUBE_${reason ? reason.toUpperCase() : String(status)}`;
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeApiError && e.status === 404;
export const isConflict = (e: unknown): boolean => e instanceof KubeApiError && e.status === 409;
export const isAlreadyExists = (e: unknown): boolean =>
  e instanceof KubeApiError && e.status === 409 && e.reason === 'AlreadyExists';
export const isGone = (e: unknown): boolean =>
  e instanceof KubeApiError && (e.status === 410 || e.reason === 'Expired');
export const isInvalid = (e: unknown): boolean => e instanceof KubeApiError && e.status === 422;

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request timeout; default 30 s. Not applied to watches. */
  timeoutMs?: number;
}

export interface KubeClientMetrics {
  /** Called once per finished request (status 0 = transport error). */
  observe(method: string, status: number, seconds: number): void;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  resourceVersion?: string;
  signal?: AbortSignal;
}

export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

/**
 * A small REST client for the Kubernetes API: keep-alive HTTPS, JSON, typed errors,
 * streaming watches, server-side apply and a request counter (benchmarks compare it).
 * Where to connect and how to authenticate comes from a KubeAuth (auth.ts); the transport is ours.
 */
export class KubeClient {
  readonly server: URL;
  /** Requests sent (including watches), for benchmarks and tests. */
  requestCount = 0;
  readonly requestsByVerb: Record<string, number> = {};
  private readonly agent: https.Agent | http.Agent;
  private readonly watchAgent: https.Agent | http.Agent;
  private readonly userAgent: string;
  private readonly metrics?: KubeClientMetrics;
  private readonly canceller = new RequestCanceller();
  private tlsReady?: Promise<void>;
  private tls: ConnectionTls = {};

  constructor(
    private readonly auth: KubeAuth,
    opts: { userAgent?: string; metrics?: KubeClientMetrics; maxSockets?: number } = {},
  ) {
    this.server = new URL(auth.server);
    this.userAgent = opts.userAgent ?? 'flannel-operator';
    this.metrics = opts.metrics;
    const isHttps = this.server.protocol === 'https:';
    const base = {
      keepAlive: true,
      keepAliveMsecs: 30_000,
      maxSockets: opts.maxSockets ?? 64,
      maxFreeSockets: 16,
    };
    // TLS material is filled into the agents' options lazily by ensureTls().
    this.agent = isHttps ? new https.Agent(base) : new http.Agent(base);
    this.watchAgent = isHttps
      ? new https.Agent({ keepAlive: true })
      : new http.Agent({ keepAlive: true });
  }

  /** Closes idle sockets; in-flight watches are ended by their signals. */
  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }

  private async ensureTls(): Promise<void> {
    this.tlsReady ??= (async () => {
      this.tls = this.server.protocol === 'https:' ? connectionTls(await this.auth.tls()) : {};
      // Agents are created before credentials are known; give them the TLS options now.
      Object.assign((this.agent as https.Agent).options, this.tls);
      Object.assign((this.watchAgent as https.Agent).options, this.tls);
    })();
    return this.tlsReady;
  }

  private url(path: string, query?: Query): URL {
    const u = new URL(path, this.server);
    if (this.server.pathname !== '/' && !path.startsWith(this.server.pathname)) {
      u.pathname = this.server.pathname.replace(/\/$/, '') + path;
    }
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  private count(method: string): void {
    this.requestCount++;
    this.requestsByVerb[method] = (this.requestsByVerb[method] ?? 0) + 1;
  }

  private async open(
    method: string,
    path: string,
    opts: RequestOptions,
    watch: boolean,
  ): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
    await this.ensureTls();
    const headers: Record<string, string> = {
      ...(await this.auth.headers()),
      Accept: 'application/json',
      'User-Agent': this.userAgent,
    };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const u = this.url(path, opts.query);
    const mod = u.protocol === 'https:' ? https : http;
    this.count(method);
    return new Promise((resolve, reject) => {
      const req = mod.request(u, {
        method,
        headers,
        agent: watch ? this.watchAgent : this.agent,
        ...this.tls,
      });
      if (opts.signal) this.canceller.track(opts.signal, req);
      const timeoutMs = watch ? undefined : (opts.timeoutMs ?? 30_000);
      let timer: NodeJS.Timeout | undefined;
      if (timeoutMs) {
        timer = setTimeout(
          () =>
            req.destroy(
              new KubeApiError(`${method} ${path}: timeout after ${timeoutMs} ms`, 0, 'Timeout'),
            ),
          timeoutMs,
        );
        timer.unref();
      }
      req.on('response', (res) => {
        // Errors surface through the body iterator; a late one (after we stopped reading) must not crash.
        res.on('error', () => {});
        if (timer && watch) clearTimeout(timer);
        // The whole-request timer keeps running while the body streams, cleared by the caller via 'close'.
        res.on('close', () => timer && clearTimeout(timer));
        resolve({ res, req });
      });
      req.on('error', (err) => {
        if (timer) clearTimeout(timer);
        reject(
          err instanceof KubeApiError
            ? err
            : new KubeApiError(
                `${method} ${path}: ${err.message}`,
                0,
                err.name === 'AbortError' ? 'Aborted' : 'Transport',
                undefined,
                method,
                path,
              ),
        );
      });
      req.end(payload);
    });
  }

  /** One request; resolves to the decoded JSON body, rejects with KubeApiError. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const started = performance.now();
    let status = 0;
    try {
      const { res } = await this.open(method, path, opts, false);
      status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      try {
        for await (const c of res) chunks.push(c as Buffer);
      } catch (err) {
        throw err instanceof KubeApiError
          ? err
          : new KubeApiError(
              `${method} ${path}: ${(err as Error).message}`,
              0,
              'Transport',
              undefined,
              method,
              path,
            );
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = undefined;
      if (text.length > 0) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      if (status >= 400) throw toApiError(status, body, method, path);
      return body as T;
    } finally {
      this.metrics?.observe(method, status, (performance.now() - started) / 1000);
    }
  }

  get<T>(path: string, opts: { signal?: AbortSignal } = {}): Promise<T> {
    return this.request<T>('GET', path, opts);
  }

  /** Returns undefined instead of throwing on 404. */
  async getOrUndefined<T>(
    path: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(path, opts);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** One list page. */
  list<T>(path: string, opts: ListOptions & { continue?: string } = {}): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>('GET', path, {
      signal: opts.signal,
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit,
        continue: opts.continue,
        resourceVersion: opts.continue ? undefined : opts.resourceVersion,
      },
      timeoutMs: 60_000,
    });
  }

  /** All pages of a list; the resourceVersion is that of the (consistent) first page. */
  async listAll<T>(
    path: string,
    opts: ListOptions = {},
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    const limit = opts.limit ?? 500;
    do {
      const page = await this.list<T>(path, { ...opts, limit, continue: cont });
      if (!rv) rv = page.metadata.resourceVersion ?? '';
      items.push(...(page.items ?? []));
      cont = page.metadata.continue || undefined;
    } while (cont);
    return { items, resourceVersion: rv };
  }

  create<T>(
    path: string,
    body: unknown,
    opts: { fieldManager?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.request<T>('POST', path, {
      body,
      query: { fieldManager: opts.fieldManager },
      signal: opts.signal,
    });
  }

  replace<T>(
    path: string,
    body: unknown,
    opts: { fieldManager?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.request<T>('PUT', path, {
      body,
      query: { fieldManager: opts.fieldManager },
      signal: opts.signal,
    });
  }

  patch<T>(
    path: string,
    body: unknown,
    opts: { type?: PatchType; fieldManager?: string; force?: boolean; signal?: AbortSignal } = {},
  ): Promise<T> {
    const type = opts.type ?? 'merge';
    return this.request<T>('PATCH', path, {
      body,
      contentType: PATCH_CONTENT_TYPES[type],
      query: {
        fieldManager: opts.fieldManager,
        force: type === 'apply' && opts.force ? true : undefined,
      },
      signal: opts.signal,
    });
  }

  /**
   * Delete; resolves to false when the object was already gone.
   * `preconditions` guard against deleting a re-created object (uid) or a changed one (resourceVersion).
   */
  async delete(
    path: string,
    opts: {
      preconditions?: { uid?: string; resourceVersion?: string };
      propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
      signal?: AbortSignal;
    } = {},
  ): Promise<boolean> {
    const body =
      opts.preconditions || opts.propagationPolicy
        ? {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            preconditions: opts.preconditions,
            propagationPolicy: opts.propagationPolicy,
          }
        : undefined;
    try {
      await this.request('DELETE', path, { body, signal: opts.signal });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Server-side apply of a whole object (apiVersion, kind, metadata.name[, namespace] required). */
  apply<T>(
    obj: ObjectRef & Record<string, unknown>,
    opts: { fieldManager: string; force?: boolean; signal?: AbortSignal },
  ): Promise<T> {
    return this.patch<T>(resourcePath(obj), obj, { type: 'apply', ...opts });
  }

  /** Server-side apply to the status subresource. */
  applyStatus<T>(
    obj: ObjectRef & Record<string, unknown>,
    opts: { fieldManager: string; force?: boolean; signal?: AbortSignal },
  ): Promise<T> {
    return this.patch<T>(`${resourcePath(obj)}/status`, obj, { type: 'apply', ...opts });
  }

  /**
   * Streams a watch; calls onEvent for each event. Resolves when the server ends the stream
   * (timeoutSeconds) and rejects on HTTP/transport errors or when the signal aborts.
   */
  async watch<T>(
    path: string,
    query: Query,
    /** Return false to end the watch (e.g. after an ERROR event). */
    onEvent: (ev: WatchEvent<T>) => void | boolean,
    opts: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const { res } = await this.open(
      'GET',
      path,
      { query: { ...query, watch: 1 }, signal: opts.signal },
      true,
    );
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      throw toApiError(status, body, 'WATCH', path);
    }
    await streamEvents(res, onEvent, (err) =>
      err instanceof KubeApiError
        ? err
        : new KubeApiError(
            `WATCH ${path}: ${(err as Error).message}`,
            0,
            opts.signal?.aborted ? 'Aborted' : 'Transport',
          ),
    );
  }
}

/**
 * Feeds each line of a watch response to `onEvent` as it arrives ('data' events rather than an
 * async iterator: no promise and no string decoding per chunk, which at thousands of events a
 * second is a visible share of the controller's CPU). Resolves when the server ends the stream
 * or onEvent returns false; rejects (through `wrap`) on transport errors and on a throwing
 * onEvent or a line that is not JSON, destroying the response.
 */
function streamEvents<T>(
  res: http.IncomingMessage,
  onEvent: (ev: WatchEvent<T>) => void | boolean,
  wrap: (err: unknown) => Error,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = new LineSplitter();
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      if (err === undefined) resolve();
      else reject(wrap(err));
    };
    /** Delivers lines until onEvent says stop; false when the watch is over. */
    const deliver = (batch: string[]): boolean => {
      for (const line of batch) {
        if (onEvent(JSON.parse(line) as WatchEvent<T>) === false) {
          settle();
          res.destroy();
          return false;
        }
      }
      return true;
    };
    res.on('data', (chunk: Buffer) => {
      if (settled) return;
      try {
        deliver(lines.push(chunk));
      } catch (err) {
        settle(err);
        res.destroy();
      }
    });
    finished(res, (err) => {
      if (settled) return;
      if (err) return settle(err);
      try {
        const rest = lines.rest();
        if (rest) deliver([rest]);
        settle();
      } catch (e) {
        settle(e);
      }
    });
  });
}

/** What each TLS connection is opened with: one SecureContext, plus verification options. */
interface ConnectionTls {
  secureContext?: SecureContext;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/**
 * The CA, client certificate and key parsed once into a SecureContext that every connection
 * shares: given as they are, Node parses them again for each new socket (~1 ms of CPU each, and
 * an agent opens five at start: two lists, the Node, two watches).
 */
function connectionTls({ ca, cert, key, ...verify }: TlsConfig): ConnectionTls {
  return { ...verify, secureContext: createSecureContext({ ca, cert, key }) };
}

export function toApiError(
  status: number,
  body: unknown,
  method?: string,
  path?: string,
): KubeApiError {
  const s = (body && typeof body === 'object' ? body : {}) as {
    message?: string;
    reason?: string;
    details?: StatusDetails;
    code?: number;
  };
  const message =
    s.message ?? (typeof body === 'string' && body ? body.slice(0, 500) : `HTTP ${status}`);
  return new KubeApiError(
    `${method ?? ''} ${path ?? ''}: ${status} ${s.reason ?? ''}: ${message}`.trim(),
    status,
    s.reason ?? '',
    s.details,
    method,
    path,
  );
}
