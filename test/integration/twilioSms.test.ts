import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isUnilogError } from '../../src/index.ts';
import { createTwilioSmsGateway } from '../../sample-app/sms/twilio/index.ts';

const sid = 'AC0123456789abcdef0123456789abcdef';
const token = 'test-auth-token';
const from = '+14155550199';

interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly form: Record<string, string>;
}

/** A fake Twilio on 127.0.0.1: checks what the real one checks, answers as it does, records each request. */
function fakeTwilio() {
  const received: Received[] = [];
  let reply: { status: number; body: unknown } | undefined;
  const server: Server = createServer((req: IncomingMessage, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(raw));
      received.push({ method: req.method, url: req.url, authorization: req.headers.authorization, contentType: req.headers['content-type'], form });
      const [status, body] = answerTo(req, form);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  const answerTo = (req: IncomingMessage, form: Record<string, string>): [number, unknown] => {
    if (reply) return [reply.status, reply.body];
    if (req.headers.authorization !== `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`) return [401, { code: 20003, message: 'Authenticate', status: 401 }];
    if (req.method !== 'POST' || req.url !== `/2010-04-01/Accounts/${sid}/Messages.json`) return [404, { code: 20404, message: 'Not found', status: 404 }];
    if (!form['To'] || !form['From'] || !form['Body']) return [400, { code: 21604, message: "A 'To' phone number is required.", status: 400 }];
    return [201, { sid: `SM${String(received.length).padStart(32, '0')}`, status: 'queued', to: form['To'], from: form['From'], body: form['Body'] }];
  };
  return {
    received,
    server,
    /** Makes every later request get this answer. */
    answer(status: number, body: unknown) {
      reply = { status, body };
    },
    reset() {
      received.length = 0;
      reply = undefined;
    },
  };
}

describe('Twilio SMS gateway against a fake Twilio', () => {
  const fake = fakeTwilio();
  let baseUrl = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${String((fake.server.address() as AddressInfo).port)}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => fake.server.close(resolve));
  });
  beforeEach(() => {
    fake.reset();
  });

  it('posts To, From and Body as a form to Messages.json with basic auth, and returns the message sid', async () => {
    const sms = createTwilioSmsGateway({ accountSid: sid, authToken: token, from, baseUrl });
    const result = await sms.send({ to: '+14155550101', body: 'Hello Ann!\nPlease snap a pic of:\n  Parka & hood' });
    expect(result).toEqual({ messageId: `SM${'1'.padStart(32, '0')}`, sent: true });
    expect(fake.received).toEqual([
      {
        method: 'POST',
        url: `/2010-04-01/Accounts/${sid}/Messages.json`,
        authorization: `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`,
        contentType: 'application/x-www-form-urlencoded',
        form: { To: '+14155550101', From: from, Body: 'Hello Ann!\nPlease snap a pic of:\n  Parka & hood' },
      },
    ]);
  });

  it('a refusal (wrong credentials, a bad number) is a permanent HandlerRejected naming the Twilio error', async () => {
    const wrong = createTwilioSmsGateway({ accountSid: sid, authToken: 'wrong', from, baseUrl });
    const refused = await wrong.send({ to: '+14155550101', body: 'hi' }).catch((e: unknown) => e);
    expect(isUnilogError(refused, 'HandlerRejected'), String(refused)).toBe(true);
    expect((refused as Error).message).toContain('401: Authenticate (Twilio code 20003)');
  });

  it('throttling and server errors are ServiceUnavailable, which a reactor retries', async () => {
    const sms = createTwilioSmsGateway({ accountSid: sid, authToken: token, from, baseUrl });
    for (const status of [429, 503]) {
      fake.answer(status, { code: 20429, message: 'Too many requests', status });
      const failed = await sms.send({ to: '+14155550101', body: 'hi' }).catch((e: unknown) => e);
      expect(isUnilogError(failed, 'ServiceUnavailable'), `${String(status)}: ${String(failed)}`).toBe(true);
    }
  });

  it('an unreachable Twilio is ServiceUnavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const sms = createTwilioSmsGateway({ accountSid: sid, authToken: token, from, baseUrl: `http://127.0.0.1:${String(port)}` });
    const failed = await sms.send({ to: '+14155550101', body: 'hi' }).catch((e: unknown) => e);
    expect(isUnilogError(failed, 'ServiceUnavailable'), String(failed)).toBe(true);
  });
});
