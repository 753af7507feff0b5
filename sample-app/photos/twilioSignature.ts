import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Twilio's request signature: base64(HMAC-SHA1(authToken, url + every POST parameter's name and value, sorted by
 * name)). A repeated name's values are sorted and each distinct one counted once, as Twilio's libraries do.
 * @see https://www.twilio.com/docs/usage/security#validating-requests
 */
export function computeTwilioSignature(authToken: string, url: string, params: Iterable<readonly [string, string]>): string {
  const distinct = new Map([...params].map(([name, value]) => [`${name}\u0000${value}`, [name, value] as const]));
  const sorted = [...distinct.values()].sort(([a, x], [b, y]) => compare(a, b) || compare(x, y));
  const hmac = createHmac('sha1', authToken).update(url, 'utf8');
  for (const [name, value] of sorted) hmac.update(name, 'utf8').update(value, 'utf8');
  return hmac.digest('base64');
}

/** Whether `signature` (the `X-Twilio-Signature` header) is Twilio's signature of the request; compares in constant time. */
export function verifyTwilioSignature(authToken: string, url: string, params: Iterable<readonly [string, string]>, signature: string | undefined): boolean {
  if (signature === undefined || signature.length === 0 || signature.length > 64) return false;
  const expected = Buffer.from(computeTwilioSignature(authToken, url, params));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

// Code-unit order, as Java's and Python's sorts of the same ASCII names: localeCompare would differ by locale.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
