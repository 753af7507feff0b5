/**
 * The SmsGateway port: how the photo workflow texts photographers. Adapters: the simulator (phones whose inboxes
 * the web UI shows) and Twilio (REST).
 * @module
 */

/** One text message to send. */
export interface SmsMessage {
  /** The phone, in E.164 form (+14155550100). */
  readonly to: string;
  readonly body: string;
  /** A send repeated with the same key (a reactor retried after a crash) is delivered once, where the gateway can tell. */
  readonly idempotencyKey?: string;
}

/** What a send did. */
export interface SendResult {
  /** The gateway's id of the message. */
  readonly messageId: string;
  /** False when the idempotency key was seen before and nothing was sent again. */
  readonly sent: boolean;
}

/** Sends text messages; a failure the gateway may recover from is a retryable error, a refusal a `HandlerRejected`. */
export interface SmsGateway {
  send(message: SmsMessage): Promise<SendResult>;
  close(): Promise<void>;
}
