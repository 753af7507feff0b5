import { randomBytes } from 'node:crypto';
import { computeTwilioSignature } from '../photos/twilioSignature.ts';
import type { SimulatorSmsGateway } from '../sms/simulator/index.ts';

/** Options of {@link createPhoneSimulator}. */
export interface PhoneSimulatorOptions {
  /** The auth token the photo intake verifies `X-Twilio-Signature` with. */
  readonly authToken: string;
  /** The demo's Twilio number: the `To` of every message. */
  readonly twilioNumber: string;
  /** The webhook's full URL as Twilio would call it (and sign it); known once the server listens. */
  readonly webhookUrl: () => string;
  /** Where the simulator's media is served, as `${mediaBaseUrl()}/${id}`; the intake downloads it from there. */
  readonly mediaBaseUrl: () => string;
  /** Replies (TwiML `<Message>`) are delivered to the sender's simulated inbox. */
  readonly sms: SimulatorSmsGateway;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** A photo as a phone sends it. */
export interface SendPhotoInput {
  /** The photographer's phone, E.164. */
  readonly from: string;
  readonly image: Uint8Array;
  readonly contentType: string;
  readonly body?: string;
}

/** What the webhook answered. */
export interface SendPhotoResult {
  readonly messageSid: string;
  readonly status: number;
  /** The text of the TwiML reply, which Twilio would text back (and the simulator puts in the inbox). */
  readonly reply: string | undefined;
}

/** The media the simulator serves. */
export interface SimulatedMedia {
  readonly body: Uint8Array;
  readonly contentType: string;
}

/** Simulated phones sending MMS: the same webhook request Twilio makes, signed the same way. */
export interface PhoneSimulator {
  sendPhoto(input: SendPhotoInput): Promise<SendPhotoResult>;
  /** The media stored under `id`, for the media route. */
  media(id: string): SimulatedMedia | undefined;
}

/** How many media files the simulator keeps: the intake downloads each once, right after the webhook call. */
const keptMedia = 32;

/**
 * A phone simulator: stores an uploaded photo at a local media URL, then POSTs the form Twilio posts for an
 * inbound MMS (From, To, Body, MessageSid, NumMedia, MediaUrl0, MediaContentType0) with `X-Twilio-Signature` =
 * base64(HMAC-SHA1(authToken, url + sorted name/value pairs)), so the photo takes the real webhook path.
 * @example
 * const phone = createPhoneSimulator({ authToken, twilioNumber: '+15005550006', webhookUrl: () => `${base}/webhooks/twilio/sms`, mediaBaseUrl: () => `${base}/sim/media`, sms });
 * await phone.sendPhoto({ from: '+14155550101', image, contentType: 'image/jpeg' });
 */
export function createPhoneSimulator(options: PhoneSimulatorOptions): PhoneSimulator {
  const doFetch = options.fetch ?? globalThis.fetch;
  const media = new Map<string, SimulatedMedia>();
  return {
    async sendPhoto(input) {
      const messageSid = `MM${randomBytes(16).toString('hex')}`;
      const mediaId = `ME${randomBytes(16).toString('hex')}`;
      media.set(mediaId, { body: input.image, contentType: input.contentType });
      // Oldest first: a Map iterates in insertion order.
      for (const id of media.keys()) {
        if (media.size <= keptMedia) break;
        media.delete(id);
      }
      const url = options.webhookUrl();
      const params: [string, string][] = [
        ['MessageSid', messageSid],
        ['SmsMessageSid', messageSid],
        ['AccountSid', 'ACsimulator0000000000000000000000'],
        ['From', input.from],
        ['To', options.twilioNumber],
        ['Body', input.body ?? ''],
        ['NumMedia', '1'],
        ['MediaUrl0', `${options.mediaBaseUrl()}/${mediaId}`],
        ['MediaContentType0', input.contentType],
      ];
      const response = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': computeTwilioSignature(options.authToken, url, params) },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(30_000),
      });
      const reply = twimlReply(await response.text());
      if (reply !== undefined) await options.sms.send({ to: input.from, body: reply, idempotencyKey: `reply-${messageSid}` });
      return { messageSid, status: response.status, reply };
    },
    media: (id) => media.get(id),
  };
}

/** The text of the first `<Message>` of a TwiML answer, unescaped; undefined when there is none. */
export function twimlReply(twiml: string): string | undefined {
  const match = /<Message(?:\s[^>]*)?>([\s\S]*?)<\/Message>/.exec(twiml);
  if (!match) return undefined;
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return (match[1] ?? '').replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity.startsWith('#x') || entity.startsWith('#X')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    return named[entity.toLowerCase()] ?? whole;
  });
}
