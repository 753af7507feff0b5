/** Where and why a value cannot be carried by JSON unchanged. */
export interface NonJsonValue {
  readonly path: readonly (string | number)[];
  readonly reason: string;
}

/**
 * Finds the first value that JSON would drop, change or refuse (functions, BigInt, cycles, NaN, Dates, Maps…).
 * `JSON.stringify` throws on some of these and silently loses others, so events are checked before they are stored.
 */
export function findNonJsonValue(value: unknown): NonJsonValue | undefined {
  // The common case, plain JSON, is settled by a walk that allocates nothing; only a failure pays for paths.
  return isPlainJson(value, 0) ? undefined : visit(value, [], []);
}

/** Deeper than this, the fast walk gives up and the exact walk (which detects cycles) decides. */
const fastWalkDepth = 64;

function isPlainJson(value: unknown, depth: number): boolean {
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || depth > fastWalkDepth) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined && !isPlainJson(field, depth + 1)) return false;
  }
  return Object.getOwnPropertySymbols(value).length === 0;
}

function visit(value: unknown, path: (string | number)[], ancestors: object[]): NonJsonValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : { path: [...path], reason: `${String(value)} is not a JSON number` };
    case 'bigint':
      return { path: [...path], reason: 'BigInt is not JSON: send it as a string' };
    case 'undefined':
      return { path: [...path], reason: 'undefined is not JSON: omit the field or use null' };
    case 'function':
      return { path: [...path], reason: 'a function is not JSON' };
    case 'symbol':
      return { path: [...path], reason: 'a symbol is not JSON' };
    case 'object':
      break;
  }
  if (value === null) return undefined;
  if (ancestors.includes(value)) return { path: [...path], reason: 'a cycle is not JSON' };
  ancestors.push(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        const found = visit(value[i], path, ancestors);
        path.pop();
        if (found) return found;
      }
      return undefined;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      return { path: [...path], reason: `a ${typeof name === 'string' ? name : 'class instance'} is not plain JSON: convert it (a Date to an ISO string)` };
    }
    if (Object.getOwnPropertySymbols(value).length > 0) return { path: [...path], reason: 'symbol keys are not JSON' };
    for (const key in value) {
      const field = (value as Record<string, unknown>)[key];
      // An undefined property is dropped by JSON.stringify, which is what an absent optional field means.
      if (field === undefined) continue;
      path.push(key);
      const found = visit(field, path, ancestors);
      path.pop();
      if (found) return found;
    }
    return undefined;
  } finally {
    ancestors.pop();
  }
}

// Batches of envelopes the publisher built and checked; the log skips its own check for them (a lookup, not a walk).
const checked = new WeakSet<object>();

/** Records that `value` was checked by {@link findNonJsonValue} and found to be plain JSON. */
export function markJsonChecked(value: object): void {
  checked.add(value);
}

/** True when `value` was marked by {@link markJsonChecked}. */
export function isJsonChecked(value: object): boolean {
  return checked.has(value);
}
