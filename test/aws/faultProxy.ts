import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLoopback } from './loopbackServer.ts';

/**
 * What the proxy does to one request. All but `lostResponse` happen before (or instead of) forwarding, so the
 * server holds each record at most once; `lostResponse` writes, then resets the connection, a genuine duplicate.
 */
export type Fault =
  | { readonly kind: 'pass' }
  /** PutRecords only: forward the request without these record indexes, then report them throttled. */
  | { readonly kind: 'partial'; readonly failed: readonly number[] }
  /** Answer 400 ProvisionedThroughputExceededException without forwarding. */
  | { readonly kind: 'throttle' }
  /** Answer 500 InternalFailure without forwarding. */
  | { readonly kind: 'error500' }
  /** Never answer and never forward; the client's timeout ends the request. */
  | { readonly kind: 'timeout' }
  /** Reset the connection without forwarding. */
  | { readonly kind: 'reset' }
  /** Forward, then reset the connection instead of answering: the write happened, the client cannot know. */
  | { readonly kind: 'lostResponse' };

/** Picks the fault of a request from its `X-Amz-Target` (e.g. `Kinesis_20131202.PutRecords`) and, for PutRecords, its record count. */
export type FaultPlan = (target: string, recordCount: number) => Fault;

/** A running proxy: `endpoint` for the client, the faults it injected by kind, its own errors, `close()` to stop. */
export interface FaultProxy {
  readonly endpoint: string;
  readonly injected: Readonly<Record<Fault['kind'], number>>;
  /** Failures of the proxy itself (bad upstream answers, its bugs): a test asserts there are none. */
  readonly errors: readonly unknown[];
  close(): Promise<void>;
}

/** A seeded generator (an LCG): the same seed replays the same faults for the same sequence of requests. */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

interface PutRecordsBody {
  Records?: unknown[];
  [field: string]: unknown;
}
interface PutRecordsOutput {
  FailedRecordCount?: number;
  Records?: unknown[];
  [field: string]: unknown;
}

/** An HTTP/1.1 proxy on 127.0.0.1 (random port) to `target` (kinesalite), injecting the faults `plan` picks. */
export async function startFaultProxy(target: string, plan: FaultPlan): Promise<FaultProxy> {
  const upstream = new URL(target);
  const injected: Record<Fault['kind'], number> = { pass: 0, partial: 0, throttle: 0, error500: 0, timeout: 0, reset: 0, lostResponse: 0 };
  const errors: unknown[] = [];

  const forward = (headers: IncomingHttpHeaders, method: string, path: string, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const outgoing = httpRequest({ host: upstream.hostname, port: upstream.port, method, path, headers: { ...headers, host: upstream.host, 'content-length': String(body.byteLength) } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => { resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }); });
        response.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });

  const answerJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const targetHeader = req.headers['x-amz-target'];
    const amzTarget = typeof targetHeader === 'string' ? targetHeader : '';
    const isPutRecords = amzTarget.endsWith('.PutRecords');
    const parsed = isPutRecords ? (JSON.parse(body.toString('utf8')) as PutRecordsBody) : undefined;
    const records = parsed?.Records ?? [];
    const fault = plan(amzTarget, records.length);
    injected[fault.kind]++;
    const method = req.method ?? 'POST';
    const path = req.url ?? '/';

    switch (fault.kind) {
      case 'throttle':
        answerJson(res, 400, { __type: 'ProvisionedThroughputExceededException', message: 'Rate exceeded for stream (injected).' }, { 'x-amzn-errortype': 'ProvisionedThroughputExceededException' });
        return;
      case 'error500':
        answerJson(res, 500, { __type: 'InternalFailure', message: 'Injected internal failure.' }, { 'x-amzn-errortype': 'InternalFailure' });
        return;
      case 'timeout':
        // Holds the request until the client gives up; `close()` ends whatever is still held.
        return;
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'lostResponse':
        await forward(req.headers, method, path, body);
        req.socket.resetAndDestroy();
        return;
      case 'partial': {
        if (!parsed) throw new Error(`A partial fault needs a PutRecords request, not ${amzTarget}.`);
        const failed = new Set(fault.failed);
        const kept = records.filter((_, i) => !failed.has(i));
        // Leaves the failed records out of what kinesalite stores, so reporting them failed is the truth.
        const output: PutRecordsOutput = kept.length === 0
          ? { Records: [] }
          : (JSON.parse((await forward(req.headers, method, path, Buffer.from(JSON.stringify({ ...parsed, Records: kept })))).body.toString('utf8')) as PutRecordsOutput);
        const written = [...(output.Records ?? [])];
        if (written.length !== kept.length) throw new Error(`kinesalite answered ${written.length} records for ${kept.length}: ${JSON.stringify(output)}`);
        const merged = records.map((_, i) => (failed.has(i) ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard (injected).' } : written.shift()));
        answerJson(res, 200, { ...output, FailedRecordCount: failed.size + (output.FailedRecordCount ?? 0), Records: merged });
        return;
      }
      case 'pass': {
        const response = await forward(req.headers, method, path, body);
        res.writeHead(response.status, response.headers);
        res.end(response.body);
        return;
      }
    }
  };

  const { endpoint, close } = await listenLoopback('fault proxy', handle, errors);
  return {
    endpoint,
    injected,
    errors,
    close,
  };
}
