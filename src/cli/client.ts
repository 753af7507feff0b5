import { UnilogError, errorCodes, type ErrorCode } from '../errors.ts';
import type { GlobalOptions } from './context.ts';

/** A client of a running service, for commands given `--url`. */
export interface ServiceClient {
  readonly url: string;
  /** Sends a request and parses the JSON reply; a problem reply throws its unilog error. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the reply's shape from the service's OpenAPI document
  request<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Opens a streaming GET (the live tail); throws like `request` when refused. */
  stream(path: string, headers?: Record<string, string>): Promise<Response>;
}

/** The client for `--url` (or `UNILOG_URL`), or undefined when the command works on the data folder. */
export function serviceClient(options: GlobalOptions): ServiceClient | undefined {
  const base = options.url ?? process.env['UNILOG_URL'];
  if (base === undefined || base === '') return undefined;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UnilogError('InvalidArgument', `--url ${JSON.stringify(base)} is not a URL: give the service's address, such as http://127.0.0.1:8080.`, { argument: 'usage', reason: 'bad --url' });
  }
  const key = options.apiKey ?? process.env['UNILOG_API_KEY'];
  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({ ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...extra });
  const origin = url.href.replace(/\/$/, '');
  const send = async (method: string, path: string, init: RequestInit): Promise<Response> => {
    try {
      return await fetch(`${origin}${path}`, { method, ...init });
    } catch (cause) {
      throw new UnilogError('ServiceUnavailable', `Cannot reach the service at ${origin} (${(cause as Error).message}): check --url and that unilog serve runs.`, { reason: 'unreachable' }, { cause });
    }
  };
  return {
    url: origin,
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- as above
    async request<T>(method: string, path: string, body?: unknown) {
      const response = await send(method, path, body === undefined ? { headers: headers() } : { headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify(body) });
      const text = await response.text();
      if (!response.ok) throw problemError(response.status, text);
      return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
    },
    async stream(path: string, extra: Record<string, string> = {}) {
      const response = await send('GET', path, { headers: headers({ accept: 'text/event-stream', ...extra }) });
      if (!response.ok) throw problemError(response.status, await response.text());
      return response;
    },
  };
}

/** The unilog error a problem reply stands for. */
function problemError(status: number, text: string): UnilogError {
  let problem: { code?: unknown; detail?: unknown; details?: unknown } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    // Not a problem document (a proxy's page, Node's own 431): described by status below.
  }
  const code = typeof problem.code === 'string' && (errorCodes as readonly string[]).includes(problem.code) ? (problem.code as ErrorCode) : 'ServiceUnavailable';
  const detail = typeof problem.detail === 'string' ? problem.detail : `The service answered ${status}.`;
  const details = (typeof problem.details === 'object' && problem.details !== null ? problem.details : { reason: `HTTP ${status}` }) as never;
  return new UnilogError(code, detail, details);
}

/** Refuses `--url` for a command that works only on the data folder. */
export function localOnly(options: GlobalOptions, command: string): void {
  if ((options.url ?? process.env['UNILOG_URL'] ?? '') !== '') {
    throw new UnilogError('InvalidArgument', `unilog ${command} works on the data folder, not through a service: drop --url (and UNILOG_URL) and give --dir.`, { argument: 'usage', reason: 'local only' });
  }
}
