import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/service/keys.ts';
import { readmeBlocks, type RunResult } from '../support/project.ts';
import { startTestService } from '../support/service.ts';

const hasCurl = spawnSync('curl', ['--version']).status === 0;

/** Runs `script` with `bash -euo pipefail`, as a reader would paste it, with `env` added. */
function bash(script: string, env: Record<string, string>): Promise<RunResult> {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => { resolve({ code, stdout, stderr }); });
  });
}

const json = (line: string): unknown => JSON.parse(line);
/** A line that is a JSON body followed by ` STATUS`, as `curl -w ' %{http_code}\n'` prints it. */
const withStatus = (line: string): { body: unknown; status: string } => {
  const at = line.lastIndexOf(' ');
  return { body: JSON.parse(line.slice(0, at)), status: line.slice(at + 1) };
};

describe.skipIf(!hasCurl)('docs/http-api.md (skipped without curl: the walkthrough is curl commands)', () => {
  let running: Awaited<ReturnType<typeof startTestService>>;
  let key: string;
  beforeAll(async () => {
    running = await startTestService();
    // The key the doc asks for: every type, --read and --admin.
    key = createKey(running.dir, { producer: 'docs', types: ['*'], read: true, admin: true }).key;
  });
  afterAll(async () => running.close());

  it('has the block this test runs', async () => {
    expect([...(await readmeBlocks('docs/http-api.md')).keys()]).toEqual(['http-api.sh']);
  });

  it('the curl walkthrough runs and answers what its comments say', async () => {
    const script = (await readmeBlocks('docs/http-api.md')).get('http-api.sh') as string;
    const result = await bash(script, { UNILOG_URL: running.service.url, KEY: key });
    expect(result.stderr, `the walkthrough printed errors, after:\n${result.stdout}`).toBe('');
    expect(result.code, `the walkthrough failed; it printed:\n${result.stdout}`).toBe(0);

    const lines = result.stdout.split('\n').filter((line) => line !== '');
    const checks: [string, (line: string) => void][] = [
      ['publish one: 201 with position 0 and a ULID', (l) => { expect(l).toMatch(/^\{"events":\[\{"position":"0","id":"[0-9A-Z]{26}","duplicate":false\}\]\}$/); }],
      ['publish a batch with client ids: 201', (l) => {
        expect(withStatus(l)).toEqual({ status: '201', body: { events: [{ position: '1', id: 'order-7-1', duplicate: false }, { position: '2', id: 'order-7-2', duplicate: false }] } });
      }],
      ['the same batch again: 200, original positions', (l) => {
        expect(withStatus(l)).toEqual({ status: '200', body: { events: [{ position: '1', id: 'order-7-1', duplicate: true }, { position: '2', id: 'order-7-2', duplicate: true }] } });
      }],
      ['a page of two, next 2', (l) => {
        const page = json(l) as { events: { position: string; event: { source: string } }[]; next: string };
        expect(page.events.map((e) => [e.position, e.event.source])).toEqual([['0', 'docs'], ['1', 'docs']]);
        expect(page.next).toBe('2');
      }],
      ['only removals', (l) => {
        const page = json(l) as { events: { position: string; event: { type: string } }[]; next: string };
        expect(page.events.map((e) => [e.position, e.event.type])).toEqual([['2', 'cart.item-removed']]);
        expect(page.next).toBe('3');
      }],
      ['the tail sends an event after Last-Event-ID 1', (l) => { expect(l).toBe('event: event'); }],
      ['its data is position 2', (l) => { expect(l).toMatch(/^data: \{"position":"2","event":\{.*"type":"cart.item-removed"/); }],
      ['its id is 2', (l) => { expect(l).toBe('id: 2'); }],
      ['consumers', (l) => { expect(json(l)).toMatchObject({ consumers: [{ name: 'carts', kind: 'projection', version: 1, deadLetters: 0 }] }); }],
      ['rebuild answers with 3 events', (l) => { expect(json(l)).toMatchObject({ events: 3 }); }],
      ['no dead letters', (l) => { expect(json(l)).toEqual({ deadLetters: [] }); }],
      ['retrying a missing dead letter: 404 problem', (l) => { expect(withStatus(l)).toMatchObject({ status: '404', body: { status: 404, code: 'DeadLetterNotFound' } }); }],
      ['schemas', (l) => { expect(json(l)).toEqual({ types: [{ type: 'cart.item-added', version: 1 }, { type: 'cart.item-removed', version: 1 }] }); }],
      ['a JSON Schema', (l) => { expect(json(l)).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', required: ['cartId', 'productId'] }); }],
      ['health', (l) => { expect(json(l)).toEqual({ ok: true, head: '3' }); }],
      ['metrics count the appended events, not the repeats', (l) => { expect(l).toBe('unilog_appended_events_total 3'); }],
      ['the OpenAPI document', (l) => { expect(l).toBe('200 application/json'); }],
      ['invalid data: 400 SchemaViolation with both paths', (l) => {
        const { status, body } = withStatus(l);
        expect(status).toBe('400');
        expect(body).toMatchObject({ code: 'SchemaViolation', status: 400 });
        expect((body as { issues: { path: string[] }[] }).issues.map((i) => i.path)).toEqual([['productId'], ['quantity']]);
      }],
      ['no key: 401', (l) => { expect(l).toBe('401'); }],
      ['not JSON: 415', (l) => { expect(l).toBe('415'); }],
    ];
    expect(lines, `the walkthrough printed:\n${result.stdout}`).toHaveLength(checks.length);
    checks.forEach(([what, check], i) => {
      try {
        check(lines[i] as string);
      } catch (error) {
        throw new Error(`step "${what}" printed ${lines[i]}`, { cause: error });
      }
    });

    // The invalid event and the repeats appended nothing.
    const health = (await (await fetch(`${running.service.url}/health`)).json()) as { head: string };
    expect(health.head).toBe('3');
  });
});
