import type { EventEnvelope } from '../../src/index.ts';

/** A valid envelope for raw appends: `n` makes it unique, `key` picks its partition. */
export function envelope(n: number, key = `k${n % 7}`, extra: Record<string, unknown> = {}): EventEnvelope {
  return {
    specversion: '1.0',
    id: `evt-${n}`,
    source: 'test',
    type: 'test.happened',
    time: new Date(1_700_000_000_000 + n).toISOString(),
    subject: key,
    datacontenttype: 'application/json',
    dataversion: 1,
    data: { n, text: 'x'.repeat(n % 50), ...extra },
  };
}

/** Envelopes `from` .. `from + count - 1`. */
export function envelopes(count: number, from = 0): EventEnvelope[] {
  return Array.from({ length: count }, (_, i) => envelope(from + i));
}
