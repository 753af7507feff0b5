/**
 * Bad input: every invalid event is rejected with its stable error code, and the log is left exactly as it was.
 * The same table runs against the memory log and the file log (which is also reopened at the end).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createCatalog,
  createMemoryEventLog,
  createPublisher,
  defineEvent,
  isUnilogError,
  openFileEventLog,
  type ErrorCode,
  type EventEnvelope,
  type EventLog,
  type FileEventLog,
  type PublishResult,
  type UnilogError,
} from '../../src/index.ts';

// ---------------------------------------------------------------------------------------------------------------
// Event definitions used by the table.

const ProductCreated = defineEvent({
  type: 'product.created',
  schema: z.strictObject({
    id: z.string().min(1),
    name: z.string(),
    price: z.number(),
    tags: z.array(z.string()).optional(),
  }),
  key: (product) => product.id,
});

/** Loose fields (`z.unknown()`, `z.record`, arrays of unknown) let non-JSON values past zod. */
const NoteAdded = defineEvent({
  type: 'note.added',
  schema: z.object({
    id: z.string(),
    body: z.unknown(),
    meta: z.record(z.string(), z.unknown()).optional(),
    list: z.array(z.unknown()).optional(),
  }),
  key: (note) => note.id,
});

/** zod accepts BigInt here; the publisher must still refuse it because JSON cannot carry it. */
const AmountSet = defineEvent({
  type: 'amount.set',
  schema: z.object({ id: z.string(), cents: z.bigint() }),
  key: (amount) => amount.id,
});

/** A schema transform that outputs a Date: valid for zod, not JSON. */
const MeetingPlanned = defineEvent({
  type: 'meeting.planned',
  schema: z.object({ id: z.string(), at: z.string().transform((s) => new Date(s)) }),
  key: (meeting) => meeting.id,
});

/** The partition key comes straight from the data, so the data can make it empty, too long or not a string. */
const KeyedEvent = defineEvent({
  type: 'keyed.event',
  schema: z.object({ k: z.unknown() }),
  key: (data) => data.k as string,
});

const definitions = [ProductCreated, NoteAdded, AmountSet, MeetingPlanned, KeyedEvent] as const;
const catalog = createCatalog(definitions);

function makePublisher(log: EventLog) {
  return createPublisher({ log, catalog: [...definitions], source: 'test' });
}

type TestPublisher = ReturnType<typeof makePublisher>;

interface Context {
  readonly log: EventLog;
  readonly publisher: TestPublisher;
  /** A good envelope as published, to build raw appends from. */
  readonly good: EventEnvelope;
}

const oneMiB = 1024 * 1024;

const goodProduct = (i: number) => ({ id: `p${i}`, name: `Product ${i}`, price: i });
const ninetyNineGood = () => Array.from({ length: 99 }, (_, i) => ({ type: 'product.created' as const, data: goodProduct(i) }));

function cyclic(): Record<string, unknown> {
  const node: Record<string, unknown> = { name: 'loop' };
  node.self = node;
  return node;
}

// ---------------------------------------------------------------------------------------------------------------
// The table of bad inputs.

interface BadCase {
  readonly name: string;
  readonly code: ErrorCode;
  readonly run: (ctx: Context) => unknown;
  /** Extra assertions on the error's details. */
  readonly check?: (error: UnilogError) => void;
}

function issuesOf(error: UnilogError) {
  if (!isUnilogError(error, 'SchemaViolation')) throw new Error(`expected SchemaViolation, got ${error.code}`);
  return error.details.issues;
}

function detailsOf<C extends ErrorCode>(error: UnilogError, code: C) {
  if (!isUnilogError(error, code)) throw new Error(`expected ${code}, got ${error.code}`);
  return error.details;
}

const badCases: readonly BadCase[] = [
  // Wrong types and missing fields.
  {
    name: 'wrong type: price is a string',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', { id: 'p9', name: 'Boots', price: '12' as never }),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ path: ['price'], code: 'invalid_type' })]);
      expect(detailsOf(e, 'SchemaViolation')).toMatchObject({ type: 'product.created', version: 1 });
    },
  },
  {
    name: 'wrong type: name is a number',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', { id: 'p9', name: 42 as never, price: 1 }),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ path: ['name'], code: 'invalid_type' })]);
    },
  },
  {
    name: 'wrong type: a number inside a string array',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', { id: 'p9', name: 'Boots', price: 1, tags: ['a', 2 as never] }),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ path: ['tags', 1], code: 'invalid_type' })]);
    },
  },
  {
    name: 'missing required field: name',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', { id: 'p9', price: 1 } as never),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ path: ['name'], code: 'invalid_type' })]);
    },
  },
  {
    name: 'missing every field: empty object',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', {} as never),
    check: (e) => {
      expect(issuesOf(e).map((i) => i.path)).toEqual([['id'], ['name'], ['price']]);
    },
  },
  {
    name: 'refinement: empty id (min length 1)',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', { id: '', name: 'Boots', price: 1 }),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ path: ['id'], code: 'too_small' })]);
    },
  },
  {
    name: 'unknown field in a strict object',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', { id: 'p9', name: 'Boots', price: 1, colour: 'red' } as never),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ code: 'unrecognized_keys' })]);
    },
  },
  // Data that is not an object at all.
  {
    name: 'non-object data: a string',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', 'boots' as never),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ path: [], code: 'invalid_type' })]);
    },
  },
  {
    name: 'non-object data: an array',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', [goodProduct(9)] as never),
  },
  {
    name: 'null data',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', null as never),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ path: [], code: 'invalid_type' })]);
    },
  },
  {
    name: 'undefined data',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', undefined as never),
  },
  // Values JSON cannot carry.
  {
    name: 'BigInt rejected by the schema (number field)',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', { id: 'p9', name: 'Boots', price: 10n as never }),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ path: ['price'], code: 'invalid_type' })]);
    },
  },
  {
    name: 'BigInt let through by z.unknown()',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: 10n }),
    check: (e) => {
      const details = detailsOf(e, 'EventNotSerializable');
      expect(details.path).toEqual(['body']);
      expect(details.reason).toMatch(/BigInt/);
    },
  },
  {
    name: 'BigInt let through by z.bigint()',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('amount.set', { id: 'a1', cents: 1234n }),
    check: (e) => {
      expect(detailsOf(e, 'EventNotSerializable').path).toEqual(['cents']);
    },
  },
  {
    name: 'NaN in a number field (zod rejects it)',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', { id: 'p9', name: 'Boots', price: Number.NaN }),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ path: ['price'] })]);
    },
  },
  {
    name: 'NaN in a z.unknown() field',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: Number.NaN }),
    check: (e) => {
      const details = detailsOf(e, 'EventNotSerializable');
      expect(details.path).toEqual(['body']);
      expect(details.reason).toMatch(/NaN/);
    },
  },
  {
    name: 'Infinity in a z.unknown() field',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: { deep: [Number.POSITIVE_INFINITY] } }),
    check: (e) => {
      const details = detailsOf(e, 'EventNotSerializable');
      expect(details.path).toEqual(['body', 'deep', 0]);
      expect(details.reason).toMatch(/Infinity/);
    },
  },
  {
    name: '-Infinity in a z.record field',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: null, meta: { low: Number.NEGATIVE_INFINITY } }),
    check: (e) => {
      expect(detailsOf(e, 'EventNotSerializable').path).toEqual(['meta', 'low']);
    },
  },
  {
    name: 'a cycle in a z.unknown() field',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: cyclic() }),
    check: (e) => {
      const details = detailsOf(e, 'EventNotSerializable');
      expect(details.path).toEqual(['body', 'self']);
      expect(details.reason).toMatch(/cycle/);
    },
  },
  {
    name: 'a cycle in a z.record field',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: 1, meta: { loop: cyclic() } }),
    check: (e) => {
      expect(detailsOf(e, 'EventNotSerializable').reason).toMatch(/cycle/);
    },
  },
  {
    name: 'a function value',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: { onClick: () => 1 } }),
    check: (e) => {
      const details = detailsOf(e, 'EventNotSerializable');
      expect(details.path).toEqual(['body', 'onClick']);
      expect(details.reason).toMatch(/function/);
    },
  },
  {
    name: 'an object with a toJSON method',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: { toJSON: () => 'sneaky' } }),
  },
  {
    name: 'a Date in a z.unknown() field',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: new Date(0) }),
    check: (e) => {
      const details = detailsOf(e, 'EventNotSerializable');
      expect(details.path).toEqual(['body']);
      expect(details.reason).toMatch(/Date/);
    },
  },
  {
    name: 'a Date produced by a schema transform',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('meeting.planned', { id: 'm1', at: '2024-01-01T00:00:00Z' }),
    check: (e) => {
      expect(detailsOf(e, 'EventNotSerializable').path).toEqual(['at']);
    },
  },
  {
    name: 'a Map',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: new Map([['a', 1]]) }),
    check: (e) => {
      expect(detailsOf(e, 'EventNotSerializable').reason).toMatch(/Map/);
    },
  },
  {
    name: 'a Set',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: new Set([1]) }),
    check: (e) => {
      expect(detailsOf(e, 'EventNotSerializable').reason).toMatch(/Set/);
    },
  },
  {
    name: 'a class instance',
    code: 'EventNotSerializable',
    run: ({ publisher }) => {
      class Point {
        constructor(
          readonly x: number,
          readonly y: number,
        ) {}
      }
      return publisher.publish('note.added', { id: 'n1', body: new Point(1, 2) });
    },
    check: (e) => {
      expect(detailsOf(e, 'EventNotSerializable').reason).toMatch(/Point/);
    },
  },
  {
    name: 'a symbol',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: Symbol('s') }),
    check: (e) => {
      const details = detailsOf(e, 'EventNotSerializable');
      expect(details.path).toEqual(['body']);
      expect(details.reason).toMatch(/symbol/);
    },
  },
  {
    name: 'undefined inside an array',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: 1, list: [1, undefined, 3] }),
    check: (e) => {
      const details = detailsOf(e, 'EventNotSerializable');
      expect(details.path).toEqual(['list', 1]);
      expect(details.reason).toMatch(/undefined/);
    },
  },
  {
    name: 'a hole in a sparse array',
    code: 'EventNotSerializable',
    // eslint-disable-next-line no-sparse-arrays -- the hole is the point
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: 1, list: [1, , 3] }),
    check: (e) => {
      expect(detailsOf(e, 'EventNotSerializable').path).toEqual(['list', 1]);
    },
  },
  // Size.
  {
    name: 'over-size payload (> 1 MiB of ASCII)',
    code: 'EventTooLarge',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: 'x'.repeat(oneMiB) }),
    check: (e) => {
      const details = detailsOf(e, 'EventTooLarge');
      expect(details.limit).toBe(oneMiB);
      expect(details.bytes).toBeGreaterThan(details.limit);
      expect(details.type).toBe('note.added');
    },
  },
  {
    name: 'over-size payload counted in UTF-8 bytes, not characters',
    code: 'EventTooLarge',
    // 600 000 characters, but 1 200 000 bytes: only a byte count catches it.
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: 'é'.repeat(600_000) }),
    check: (e) => {
      const details = detailsOf(e, 'EventTooLarge');
      expect(details.bytes).toBeGreaterThan(1_200_000);
      expect(details.bytes).toBeGreaterThan(details.limit);
    },
  },
  // Types and versions.
  {
    name: 'unknown event type',
    code: 'UnknownEventType',
    run: ({ publisher }) => publisher.publish('product.deleted' as never, { id: 'p1' } as never),
    check: (e) => {
      const details = detailsOf(e, 'UnknownEventType');
      expect(details.type).toBe('product.deleted');
      expect(details.known).toEqual([...catalog.types]);
      expect(details.index).toBeUndefined();
    },
  },
  {
    name: 'unknown dataversion when upcasting (newer than the catalog)',
    code: 'UnknownEventVersion',
    run: ({ good }) => catalog.upcast({ ...good, dataversion: 7 }),
    check: (e) => {
      expect(detailsOf(e, 'UnknownEventVersion')).toMatchObject({ type: 'product.created', version: 7, known: [1] });
    },
  },
  {
    name: 'dataversion 0 when upcasting',
    code: 'UnknownEventVersion',
    run: ({ good }) => catalog.upcast({ ...good, dataversion: 0 }),
    check: (e) => {
      expect(detailsOf(e, 'UnknownEventVersion').version).toBe(0);
    },
  },
  // Publish options.
  {
    name: 'invalid client id option (a space)',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', goodProduct(9), { id: 'not ok' }),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ path: ['id'] })]);
    },
  },
  {
    name: 'invalid client id option (129 characters)',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', goodProduct(9), { id: 'a'.repeat(129) }),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ path: ['id'] })]);
    },
  },
  {
    name: 'invalid client id option (empty)',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', goodProduct(9), { id: '' }),
    check: (e) => {
      expect(issuesOf(e)).toEqual([expect.objectContaining({ path: ['id'] })]);
    },
  },
  // Partition keys.
  {
    name: 'empty partition key from the key function',
    code: 'InvalidPartitionKey',
    run: ({ publisher }) => publisher.publish('keyed.event', { k: '' }),
    check: (e) => {
      expect(detailsOf(e, 'InvalidPartitionKey')).toEqual({ type: 'keyed.event', key: '' });
    },
  },
  {
    name: 'too long partition key (257 characters) from the key function',
    code: 'InvalidPartitionKey',
    run: ({ publisher }) => publisher.publish('keyed.event', { k: 'k'.repeat(257) }),
    check: (e) => {
      // Long keys are cut in errors: the service sends errors to clients, which must not get megabytes back.
      expect(detailsOf(e, 'InvalidPartitionKey').key).toBe(`${'k'.repeat(64)}…`);
      expect((e as Error).message).toContain('(257 characters)');
    },
  },
  {
    name: 'non-string partition key from the key function',
    code: 'InvalidPartitionKey',
    run: ({ publisher }) => publisher.publish('keyed.event', { k: 42 }),
    check: (e) => {
      expect(detailsOf(e, 'InvalidPartitionKey').key).toBe(42);
    },
  },
  {
    name: 'empty partition key from the key option',
    code: 'InvalidPartitionKey',
    run: ({ publisher }) => publisher.publish('product.created', goodProduct(9), { key: '' }),
  },
  // Batches: all or nothing.
  {
    name: 'batch of 99 good and 1 schema-bad event',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publishBatch([...ninetyNineGood(), { type: 'product.created', data: { id: 'p99', name: 'Bad', price: 'free' as never } }]),
    check: (e) => {
      const issues = issuesOf(e);
      expect(issues.length).toBeGreaterThan(0);
      for (const issue of issues) expect(issue.index).toBe(99);
      expect(e.message).toContain('[99]');
    },
  },
  {
    name: 'batch of 99 good and 1 unknown type',
    code: 'UnknownEventType',
    run: ({ publisher }) => publisher.publishBatch([...ninetyNineGood(), { type: 'nope.never' as never, data: {} as never }]),
    check: (e) => {
      expect(detailsOf(e, 'UnknownEventType')).toMatchObject({ type: 'nope.never', index: 99 });
    },
  },
  {
    name: 'batch of 99 good and 1 not-serializable event',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publishBatch([...ninetyNineGood(), { type: 'note.added', data: { id: 'n1', body: 1n } }]),
    check: (e) => {
      expect(detailsOf(e, 'EventNotSerializable')).toMatchObject({ index: 99, path: ['body'] });
    },
  },
  {
    name: 'batch of 99 good and 1 bad partition key',
    code: 'InvalidPartitionKey',
    run: ({ publisher }) => publisher.publishBatch([...ninetyNineGood(), { type: 'keyed.event', data: { k: '' } }]),
    check: (e) => {
      expect(detailsOf(e, 'InvalidPartitionKey').index).toBe(99);
    },
  },
  {
    name: 'batch of 99 good and 1 over-size event',
    code: 'EventTooLarge',
    run: ({ publisher }) => publisher.publishBatch([...ninetyNineGood(), { type: 'note.added', data: { id: 'n1', body: 'x'.repeat(oneMiB + 1) } }]),
    check: (e) => {
      const details = detailsOf(e, 'EventTooLarge');
      expect(details.index).toBe(99);
      expect(details.bytes).toBeGreaterThan(details.limit);
    },
  },
  {
    name: 'batch with two schema-bad events lists the issues of both',
    code: 'SchemaViolation',
    run: ({ publisher }) =>
      publisher.publishBatch([
        { type: 'product.created', data: goodProduct(0) },
        { type: 'product.created', data: { id: 'p1', name: 7 as never, price: 1 } },
        { type: 'product.created', data: goodProduct(2) },
        { type: 'product.created', data: { id: 'p3', name: 'Three', price: 3, extra: true } as never },
      ]),
    check: (e) => {
      const issues = issuesOf(e);
      expect(issues).toEqual([
        expect.objectContaining({ index: 1, path: ['name'], code: 'invalid_type' }),
        expect.objectContaining({ index: 3, code: 'unrecognized_keys' }),
      ]);
      expect(e.message).toContain('2 event(s)');
    },
  },
  // Raw appends that bypass the publisher: the log itself must refuse them.
  {
    name: 'raw append of something that is not an envelope',
    code: 'InvalidArgument',
    run: ({ log }) => log.append([{ not: 'an envelope' }] as never),
    check: (e) => {
      expect(detailsOf(e, 'InvalidArgument')).toEqual({ argument: 'events[0]', reason: 'not an envelope' });
    },
  },
  {
    name: 'raw append of a good envelope followed by a non-envelope',
    code: 'InvalidArgument',
    run: ({ log, good }) => log.append([{ ...good, id: 'raw-1' }, 'junk'] as never),
    check: (e) => {
      expect(detailsOf(e, 'InvalidArgument').argument).toBe('events[1]');
    },
  },
  {
    name: 'raw append of an envelope with an empty subject',
    code: 'InvalidArgument',
    run: ({ log, good }) => log.append([{ ...good, subject: '' }]),
  },
  {
    name: 'raw append of an envelope with a BigInt in data',
    code: 'EventNotSerializable',
    run: ({ log, good }) => log.append([{ ...good, data: { price: 1n } }]),
    check: (e) => {
      expect(detailsOf(e, 'EventNotSerializable').index).toBe(0);
    },
  },
  {
    name: 'raw append of an envelope with a cycle in data',
    code: 'EventNotSerializable',
    run: ({ log, good }) => log.append([good, { ...good, data: cyclic() }]),
    check: (e) => {
      expect(detailsOf(e, 'EventNotSerializable').index).toBe(1);
    },
  },
  {
    name: 'raw append of an over-size envelope',
    code: 'EventTooLarge',
    run: ({ log, good }) => log.append([{ ...good, data: 'y'.repeat(oneMiB) }]),
    check: (e) => {
      const details = detailsOf(e, 'EventTooLarge');
      expect(details).toMatchObject({ index: 0, limit: oneMiB });
      expect(details.bytes).toBeGreaterThan(details.limit);
    },
  },
  {
    name: 'raw append of null in a batch',
    code: 'InvalidArgument',
    run: ({ log, good }) => log.append([good, null as never]),
  },
  {
    name: 'raw append of something that is not an array',
    code: 'InvalidArgument',
    run: ({ log }) => log.append(null as never),
  },
  {
    name: 'raw append with NaN in data (JSON would store null)',
    code: 'EventNotSerializable',
    run: ({ log, good }) => log.append([{ ...good, data: { n: Number.NaN } }]),
    check: (e) => {
      expect(detailsOf(e, 'EventNotSerializable').path).toEqual(['data', 'n']);
    },
  },
  {
    name: 'raw append with a Date in data (JSON would store a string)',
    code: 'EventNotSerializable',
    run: ({ log, good }) => log.append([{ ...good, data: { d: new Date(0) } }]),
  },
  {
    name: 'raw append with a function in data (JSON would drop it)',
    code: 'EventNotSerializable',
    run: ({ log, good }) => log.append([{ ...good, data: { f: () => 1 } }]),
  },
  {
    name: 'a symbol key in data (JSON would drop it)',
    code: 'EventNotSerializable',
    run: ({ publisher }) => publisher.publish('note.added', { id: 'n1', body: { [Symbol('s')]: 1 } }),
  },
  {
    name: 'an empty correlation id',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', goodProduct(5), { correlationId: '' }),
    check: (e) => {
      expect(detailsOf(e, 'SchemaViolation').issues[0]?.path).toEqual(['correlationId']);
    },
  },
  {
    name: 'a causation id that is not a string',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publish('product.created', goodProduct(5), { causationId: 42 as never }),
  },
  {
    name: 'a key function that throws',
    code: 'InvalidPartitionKey',
    run: ({ log }) => {
      const Throwing = defineEvent({ type: 'throwing.key', schema: z.object({}), key: () => { throw new Error('no key'); } });
      return createPublisher({ log, catalog: [Throwing], source: 'test' }).publish('throwing.key', {});
    },
    check: (e) => {
      expect((e as Error).cause).toBeInstanceOf(Error);
    },
  },
  {
    name: 'a one-event batch still names index 0',
    code: 'SchemaViolation',
    run: ({ publisher }) => publisher.publishBatch([{ type: 'product.created', data: { id: 'p1' } as never }]),
    check: (e) => {
      expect(detailsOf(e, 'SchemaViolation').issues.every((issue) => issue.index === 0)).toBe(true);
    },
  },
  // The publisher itself.
  {
    name: 'publisher with an empty source',
    code: 'InvalidArgument',
    run: ({ log }) => createPublisher({ log, catalog: [...definitions], source: '' }),
    check: (e) => {
      expect(detailsOf(e, 'InvalidArgument').argument).toBe('source');
    },
  },
];

/** Runs `run` (which may throw synchronously or reject) and expects a unilog error of `code`. */
async function expectRejection(run: () => unknown, code: ErrorCode): Promise<UnilogError> {
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await run() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (outcome.ok) throw new Error(`expected a ${code} error, but the call succeeded`);
  const { error } = outcome;
  if (!isUnilogError(error)) throw new Error(`expected a ${code} unilog error, got ${String(error)}`, { cause: error });
  expect(error.code, error.message).toBe(code);
  expect(isUnilogError(error, code)).toBe(true);
  return error;
}

// ---------------------------------------------------------------------------------------------------------------
// The suites.

interface Backend {
  readonly name: string;
  open(): Promise<EventLog>;
  /** Closes and reopens the log to check what is durable; absent for the memory log. */
  reopen?: (log: EventLog) => Promise<EventLog>;
  cleanup(log: EventLog | undefined): Promise<void>;
}

function memoryBackend(): Backend {
  return {
    name: 'memory log',
    open: () => Promise.resolve(createMemoryEventLog()),
    cleanup: async (log) => {
      await log?.close();
    },
  };
}

function fileBackend(): Backend {
  let dir: string | undefined;
  return {
    name: 'file log',
    async open() {
      dir = await mkdtemp(join(tmpdir(), 'unilog-bad-input-'));
      return openFileEventLog({ dir });
    },
    async reopen(log) {
      await log.close();
      return openFileEventLog({ dir: dir! });
    },
    async cleanup(log) {
      await log?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('Bad input', () => {
  it('has at least 30 distinct cases', () => {
    expect(badCases.length).toBeGreaterThanOrEqual(30);
    expect(new Set(badCases.map((c) => c.name)).size).toBe(badCases.length);
  });

  for (const backend of [memoryBackend(), fileBackend()]) {
    describe(backend.name, () => {
      let log: EventLog | undefined;
      let ctx: Context;
      let goodHead: string;
      let goodJson: string;

      async function expectUnchanged(current: EventLog): Promise<void> {
        expect(await current.head()).toBe(goodHead);
        const { events, next } = await current.read();
        expect(JSON.stringify(events)).toBe(goodJson);
        expect(next).toBe(goodHead);
      }

      beforeAll(async () => {
        log = await backend.open();
        const publisher = makePublisher(log);
        const published: PublishResult[] = [
          await publisher.publish('product.created', { id: 'p1', name: 'Boots', price: 120, tags: ['shoes'] }),
          await publisher.publish('note.added', { id: 'n1', body: { text: 'hello', n: [1, 2, null] }, meta: { by: 'me' } }),
        ];
        goodHead = await log.head();
        expect(goodHead).toBe('2');
        goodJson = JSON.stringify(published.map(({ position, event }) => ({ position, event })));
        ctx = { log, publisher, good: published[0]!.event };
        await expectUnchanged(log);
      });

      async function openAgain(reopen: (current: EventLog) => Promise<EventLog>): Promise<EventLog> {
        const current = log!;
        log = undefined;
        log = await reopen(current);
        return log;
      }

      afterAll(async () => {
        await backend.cleanup(log);
      });

      // One test per row of the table (a loop rather than it.each, whose $name interpolation truncates long names).
      for (const badCase of badCases) {
        it(`rejects ${badCase.name} with ${badCase.code} and leaves the log unchanged`, async () => {
          const error = await expectRejection(() => badCase.run(ctx), badCase.code);
          badCase.check?.(error);
          // Stable, serializable errors: toJSON carries the same code and details.
          expect(error.toJSON()).toEqual({ code: badCase.code, message: error.message, details: error.details });
          await expectUnchanged(ctx.log);
        });
      }

      if (backend.reopen) {
        const reopen = backend.reopen;
        it('holds exactly the good events after reopening', async () => {
          const reopened = await openAgain(reopen);
          await expectUnchanged(reopened);
          expect((reopened as FileEventLog).openReport.truncatedBytes).toBe(0);
        });
      }

      it('appends the next good event at the position right after the good ones', async () => {
        const current = log!;
        const { position, event } = await makePublisher(current).publish('product.created', goodProduct(3));
        expect(position).toBe(goodHead);
        const { events } = await current.read();
        expect(JSON.stringify(events)).toBe(JSON.stringify([...(JSON.parse(goodJson) as unknown[]), { position, event }]));
      });
    });
  }
});
