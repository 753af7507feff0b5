import { randomUUID } from 'node:crypto';
import type { SendResult, SmsGateway, SmsMessage } from '../smsGateway.ts';

/** A message in a simulated phone's inbox. */
export interface InboxMessage {
  readonly messageId: string;
  readonly to: string;
  readonly body: string;
  /** When it was sent, ISO 8601. */
  readonly at: string;
}

/** Options of {@link createSimulatorSmsGateway}. */
export interface SimulatorSmsGatewayOptions {
  /** Milliseconds since the epoch, for `at`. @default Date.now */
  readonly now?: () => number;
}

/** The simulator: sent messages land in per-phone inboxes, which the web UI shows as the photographer's phone. */
export interface SimulatorSmsGateway extends SmsGateway {
  /** The messages sent to `phone`, oldest first. */
  inbox(phone: string): readonly InboxMessage[];
  /** Every phone that received a message. */
  phones(): readonly string[];
  /** Calls `listener` for each message sent from now on (to push it to a browser); returns the unsubscribe function. */
  onMessage(listener: (message: InboxMessage) => void): () => void;
}

/**
 * An SMS gateway that delivers to in-memory inboxes: the demo's phones, with no network. Inboxes live as long as
 * the process (a restart empties them). A repeated idempotency key is delivered once.
 * @example
 * const sms = createSimulatorSmsGateway();
 * await sms.send({ to: '+14155550100', body: 'Please snap a pic of: Trail boots' });
 * sms.inbox('+14155550100');
 */
export function createSimulatorSmsGateway(options: SimulatorSmsGatewayOptions = {}): SimulatorSmsGateway {
  const now = options.now ?? Date.now;
  const inboxes = new Map<string, InboxMessage[]>();
  const byKey = new Map<string, string>();
  const listeners = new Set<(message: InboxMessage) => void>();
  return {
    send(message: SmsMessage): Promise<SendResult> {
      const seen = message.idempotencyKey === undefined ? undefined : byKey.get(message.idempotencyKey);
      if (seen !== undefined) return Promise.resolve({ messageId: seen, sent: false });
      const delivered: InboxMessage = { messageId: `sim-${randomUUID()}`, to: message.to, body: message.body, at: new Date(now()).toISOString() };
      if (message.idempotencyKey !== undefined) byKey.set(message.idempotencyKey, delivered.messageId);
      const inbox = inboxes.get(message.to) ?? [];
      inbox.push(delivered);
      inboxes.set(message.to, inbox);
      for (const listener of listeners) listener(delivered);
      return Promise.resolve({ messageId: delivered.messageId, sent: true });
    },
    inbox: (phone) => [...(inboxes.get(phone) ?? [])],
    phones: () => [...inboxes.keys()],
    onMessage(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      listeners.clear();
      return Promise.resolve();
    },
  };
}
