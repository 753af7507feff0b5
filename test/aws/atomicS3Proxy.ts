import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLoopback } from './loopbackServer.ts';

/**
 * A loopback HTTP proxy to s3rver that gives its objects S3's atomicity. S3 stores an object whole or not at all and
 * shows readers the old object or the new one; s3rver streams a PUT body into the object's file, so a client killed
 * mid-PUT leaves a truncated object, and a read during a write (even a listing) sees a part of it. The proxy forwards
 * a request only once its whole body has arrived, and runs writes (PUT, POST, DELETE) alone: reads wait for them and
 * they wait for reads. Headers pass unchanged, Host included, so s3rver's signature checks still pass.
 */
export interface AtomicS3Proxy {
  readonly endpoint: string;
  /** Requests dropped because their client went away before the body was complete. */
  readonly dropped: number;
  /** Failures of the proxy itself: a test asserts there are none. */
  readonly errors: readonly unknown[];
  close(): Promise<void>;
}

/** Starts the proxy on 127.0.0.1 (random port) in front of `target` (s3rver). */
export async function startAtomicS3Proxy(target: string): Promise<AtomicS3Proxy> {
  const upstream = new URL(target);
  const errors: unknown[] = [];
  let dropped = 0;
  // A readers-writer lock: `readers` running reads, or one write; waiters start in arrival order.
  let readers = 0;
  let writing = false;
  const waiting: { write: boolean; start: () => void }[] = [];
  const pump = () => {
    while (waiting.length > 0 && !writing) {
      const next = waiting[0] as { write: boolean; start: () => void };
      if (next.write && readers > 0) return;
      waiting.shift();
      if (next.write) writing = true;
      else readers++;
      next.start();
      if (next.write) return;
    }
  };
  const lock = (write: boolean) => new Promise<() => void>((resolve) => {
    waiting.push({ write, start: () => { resolve(() => {
      if (write) writing = false;
      else readers--;
      pump();
    }); } });
    pump();
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await new Promise<Buffer | undefined>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => { resolve(Buffer.concat(chunks)); });
      // A client that died mid-body: nothing reaches s3rver, as S3 would store nothing of it.
      req.on('close', () => { if (!req.complete) resolve(undefined); });
    });
    if (body === undefined || body.byteLength !== Number(req.headers['content-length'] ?? 0)) {
      dropped++;
      req.socket.destroy();
      return;
    }
    const method = req.method ?? 'GET';
    const release = await lock(method !== 'GET' && method !== 'HEAD');
    try {
      // The whole answer is read before the lock is released, so a read never overlaps a write.
      const answer = await new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
        const outgoing = httpRequest({ host: upstream.hostname, port: upstream.port, method, path: req.url ?? '/', headers: req.headers }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => { resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }); });
          response.on('error', reject);
        });
        outgoing.on('error', reject);
        outgoing.end(body);
      });
      if (!res.destroyed) {
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      }
    } finally {
      release();
    }
  };

  const { endpoint, close } = await listenLoopback('atomic S3 proxy', handle, errors);
  return {
    endpoint,
    get dropped() {
      return dropped;
    },
    errors,
    close,
  };
}
