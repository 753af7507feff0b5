import { decodeTime, isValid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { nextEventId } from '../../src/events/eventId.ts';

describe('event ids (ULIDs)', () => {
  it('are valid ULIDs that decode to their millisecond, checked against the ulid package', () => {
    // Far-future times, increasing, so that no earlier id in this process is ahead of them.
    for (const ms of [Date.UTC(2300, 0, 1), Date.UTC(2300, 0, 1) + 1, Date.UTC(2400, 5, 6, 7, 8, 9, 10), 2 ** 47 + 12345]) {
      const id = nextEventId(ms);
      expect(isValid(id), id).toBe(true);
      expect(decodeTime(id)).toBe(ms);
    }
  });

  it('increase strictly within a millisecond and when the clock goes back', () => {
    const ms = 2 ** 47 + 99_999;
    const ids = [nextEventId(ms), nextEventId(ms), nextEventId(ms - 10), nextEventId(ms), nextEventId(ms + 1)];
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!, `${ids[i]!} > ${ids[i - 1]!}`).toBe(true);
    expect(decodeTime(ids[2]!)).toBe(ms);
    expect(decodeTime(ids[4]!)).toBe(ms + 1);
  });
});
