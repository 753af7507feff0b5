import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLoopback } from './loopbackServer.ts';

/**
 * A loopback HTTP proxy to kinesalite (which cannot trim) that simulates retention: records of a shard at or before
 * a cutoff disappear from GetRecords, TRIM_HORIZON iterators (and sequence iterators before the cutoff) start after
 * it, and hidden shards leave ListShards, as Kinesis drops closed shards past retention.
 */
export interface RetentionProxy {
  /** The endpoint for the client under test. */
  readonly endpoint: string;
  /** Trims a shard: its records at or before `sequence` are gone. A later cutoff replaces an earlier one. */
  trim(shardId: string, sequence: string): void;
  /** Removes a shard from ListShards and answers its GetShardIterator with ResourceNotFoundException. */
  hideShard(shardId: string): void;
  /** Failures of the proxy itself: a test asserts there are none. */
  readonly errors: readonly unknown[];
  close(): Promise<void>;
}

const compare = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Starts a retention proxy on 127.0.0.1 (random port) in front of kinesalite at `target`; one stream per proxy, as shard ids repeat across streams. */
export async function startRetentionProxy(target: string): Promise<RetentionProxy> {
  const upstream = new URL(target);
  const cutoffs = new Map<string, string>();
  const hidden = new Set<string>();
  /** The shard each iterator handed out reads, to filter its GetRecords pages. */
  const iteratorShards = new Map<string, string>();
  const errors: unknown[] = [];

  const forward = (headers: IncomingHttpHeaders, method: string, path: string, body: Buffer) =>
    new Promise<Answer>((resolve, reject) => {
      const outgoing = httpRequest({ host: upstream.hostname, port: upstream.port, method, path, headers: { ...headers, host: upstream.host, 'content-length': String(body.byteLength) } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => { resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }); });
        response.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text), ...(status >= 400 ? { 'x-amzn-errortype': (body as { __type: string }).__type } : {}) });
    res.end(text);
  };
  const relay = (res: ServerResponse, upstreamAnswer: Answer) => {
    res.writeHead(upstreamAnswer.status, upstreamAnswer.headers);
    res.end(upstreamAnswer.body);
  };
  const json = (buffer: Buffer) => JSON.parse(buffer.toString('utf8')) as Record<string, unknown>;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const targetHeader = req.headers['x-amz-target'];
    const action = (typeof targetHeader === 'string' ? targetHeader : '').split('.').at(-1) ?? '';
    const method = req.method ?? 'POST';
    const path = req.url ?? '/';

    switch (action) {
      case 'GetShardIterator': {
        const input = json(body);
        const shardId = String(input.ShardId);
        if (hidden.has(shardId)) {
          answer(res, 400, { __type: 'ResourceNotFoundException', message: `Shard ${shardId} does not exist (past retention, simulated).` });
          return;
        }
        const cutoff = cutoffs.get(shardId);
        const type = input.ShardIteratorType;
        const sequence = typeof input.StartingSequenceNumber === 'string' ? input.StartingSequenceNumber : undefined;
        const beforeCutoff = cutoff !== undefined && (type === 'TRIM_HORIZON' || (type === 'AT_SEQUENCE_NUMBER' && sequence !== undefined && compare(sequence, cutoff) <= 0) || (type === 'AFTER_SEQUENCE_NUMBER' && sequence !== undefined && compare(sequence, cutoff) < 0));
        const sent = beforeCutoff ? Buffer.from(JSON.stringify({ ...input, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: cutoff })) : body;
        const response = await forward(req.headers, method, path, sent);
        if (response.status === 200) {
          const iterator = json(response.body).ShardIterator;
          if (typeof iterator === 'string') iteratorShards.set(iterator, shardId);
        }
        relay(res, response);
        return;
      }
      case 'GetRecords': {
        const iterator = String(json(body).ShardIterator);
        const shardId = iteratorShards.get(iterator);
        const response = await forward(req.headers, method, path, body);
        if (response.status !== 200 || shardId === undefined) {
          relay(res, response);
          return;
        }
        const output = json(response.body) as { Records?: { SequenceNumber: string }[]; NextShardIterator?: string };
        if (output.NextShardIterator !== undefined) iteratorShards.set(output.NextShardIterator, shardId);
        const cutoff = cutoffs.get(shardId);
        answer(res, 200, cutoff === undefined ? output : { ...output, Records: (output.Records ?? []).filter((r) => compare(r.SequenceNumber, cutoff) > 0) });
        return;
      }
      case 'ListShards': {
        const response = await forward(req.headers, method, path, body);
        if (response.status !== 200 || hidden.size === 0) {
          relay(res, response);
          return;
        }
        const output = json(response.body) as { Shards?: { ShardId: string }[] };
        answer(res, 200, { ...output, Shards: (output.Shards ?? []).filter((s) => !hidden.has(s.ShardId)) });
        return;
      }
      default:
        relay(res, await forward(req.headers, method, path, body));
    }
  };

  const { endpoint, close } = await listenLoopback('retention proxy', handle, errors);
  return {
    endpoint,
    trim(shardId, sequence) {
      cutoffs.set(shardId, sequence);
    },
    hideShard(shardId) {
      hidden.add(shardId);
    },
    errors,
    close,
  };
}
