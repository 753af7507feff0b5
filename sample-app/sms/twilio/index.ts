import { z } from 'zod';
import { UnilogError, permanentError } from '../../../src/index.ts';
import type { SendResult, SmsGateway, SmsMessage } from '../smsGateway.ts';

/** Options of {@link createTwilioSmsGateway}. */
export interface TwilioSmsGatewayOptions {
  /** The account SID (`AC…`): the user name of basic auth and part of the URL. */
  readonly accountSid: string;
  /** The auth token: the password of basic auth. */
  readonly authToken: string;
  /** The sending number, E.164. */
  readonly from: string;
  /** Where the REST API is; tests point it at a local fake. @default "https://api.twilio.com" */
  readonly baseUrl?: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** A request that takes longer fails (retryably). @default 10000 */
  readonly timeoutMs?: number;
}

const created = z.object({ sid: z.string().min(1) });
const problem = z.object({ code: z.number().optional(), message: z.string().optional() });

/**
 * Sends texts through Twilio's REST API (POST Messages.json, basic auth, form body To/From/Body). Twilio has no
 * idempotency key for messages, so a send repeated after a crash texts twice: delivery is at least once. A refusal
 * (4xx but 429) is a permanent `HandlerRejected`; throttling, 5xx and network failures are `ServiceUnavailable`,
 * which a reactor retries.
 * @example
 * const sms = createTwilioSmsGateway({ accountSid, authToken, from: '+14155550199' });
 */
export function createTwilioSmsGateway(options: TwilioSmsGatewayOptions): SmsGateway {
  const baseUrl = (options.baseUrl ?? 'https://api.twilio.com').replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  const url = `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
  const authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  return {
    async send(message: SmsMessage): Promise<SendResult> {
      let response: Response;
      try {
        response = await doFetch(url, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ To: message.to, From: options.from, Body: message.body }).toString(),
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
      } catch (cause) {
        throw new UnilogError('ServiceUnavailable', `Cannot reach Twilio at ${baseUrl} (${(cause as Error).message}): the send is retried.`, { reason: 'unreachable' }, { cause });
      }
      const text = await response.text();
      const json = parseJson(text);
      if (response.ok) {
        const body = created.safeParse(json);
        if (!body.success) throw new UnilogError('ServiceUnavailable', `Twilio answered ${response.status} without a message sid: ${text.slice(0, 200)}`, { reason: 'bad response' });
        return { messageId: body.data.sid, sent: true };
      }
      const details = problem.safeParse(json);
      const why = details.success ? `${details.data.message ?? 'no message'} (Twilio code ${String(details.data.code ?? 'none')})` : text.slice(0, 200);
      if (response.status === 429 || response.status >= 500) {
        throw new UnilogError('ServiceUnavailable', `Twilio answered ${response.status}: ${why}; the send is retried.`, { reason: `twilio ${response.status}` });
      }
      throw permanentError(`Twilio refused the text to ${message.to} with ${response.status}: ${why}. Check the account SID, auth token and numbers.`);
    },
    close: () => Promise.resolve(),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
