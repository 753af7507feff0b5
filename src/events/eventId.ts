import { randomBytes } from 'node:crypto';

// Crockford's base32, as ULIDs use it.
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Every 10-bit value as its two base32 characters, so that 40 bits encode with four lookups. */
const pairs = Array.from({ length: 1024 }, (_, n) => `${alphabet[n >> 5] ?? ''}${alphabet[n & 31] ?? ''}`);
const max40 = 2 ** 40 - 1;

function encode40(n: number): string {
  // 40 bits as four 10-bit groups, most significant first; Math.floor as the value exceeds 32-bit integers.
  const high = Math.floor(n / 2 ** 20);
  const low = n - high * 2 ** 20;
  return `${pairs[high >> 10] ?? ''}${pairs[high & 1023] ?? ''}${pairs[low >> 10] ?? ''}${pairs[low & 1023] ?? ''}`;
}

function encodeTime(ms: number): string {
  // 48 bits of milliseconds as 10 characters: the top 8 bits give the first two characters, then 40 bits.
  const top = Math.floor(ms / 2 ** 40);
  return `${alphabet[top >> 5] ?? ''}${alphabet[top & 31] ?? ''}${encode40(ms - top * 2 ** 40)}`;
}

let pool = Buffer.alloc(0);
let poolAt = 0;
/** 40 random bits, drawn from the OS 4 KiB at a time. */
function random40(): number {
  if (poolAt + 5 > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  const value = pool.readUIntBE(poolAt, 5);
  poolAt += 5;
  return value;
}

let lastMs = -1;
let timePart = '';
let randomHigh = 0;
let randomLow = 0;

/**
 * A new ULID for `ms`, monotonic within the process: ids made in the same millisecond (or with a clock that went
 * back) increment the random part of the previous id, as the ULID spec's monotonic mode does. Written here rather
 * than taken from the `ulid` package because publishing makes one per event and the package's is 4x slower.
 */
export function nextEventId(ms: number): string {
  if (ms > lastMs) {
    lastMs = ms;
    timePart = encodeTime(ms);
    randomHigh = random40();
    randomLow = random40();
  } else if (randomLow < max40) {
    randomLow++;
  } else {
    randomLow = 0;
    // 2^80 ids in one millisecond cannot happen; wrapping keeps the function total.
    randomHigh = randomHigh < max40 ? randomHigh + 1 : 0;
  }
  return `${timePart}${encode40(randomHigh)}${encode40(randomLow)}`;
}
