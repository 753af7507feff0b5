import { AssertionError, deepStrictEqual } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventOf } from '../events/catalog.ts';
import type { AnyEventDefinition, EventData } from '../events/defineEvent.ts';
import { UnilogError, isUnilogError, type ErrorCode } from '../errors.ts';
import type { EventStore, StreamEventInput } from './eventStore.ts';

/** An event as a decider sees it: a catalog type and its data (stored envelopes have these and more). */
export type DeciderEvent<TDefs extends AnyEventDefinition> = {
  [T in TDefs['type']]: { readonly type: T; readonly data: EventData<EventOf<TDefs, T>> };
}[TDefs['type']];

/** The input of {@link defineDecider}. */
export interface DeciderInput<TDefs extends AnyEventDefinition, TCommand, TState> {
  /** Names the decider in errors and snapshots. */
  readonly name: string;
  /** Bump it when `evolve` changes: snapshots of another version are ignored. @default 1 */
  readonly version?: number;
  /** The event types the decider decides and folds. */
  readonly events: readonly TDefs[];
  readonly initialState: () => TState;
  /** Decides which events a command causes, given the entity's state; throws to refuse the command. Pure. */
  readonly decide: (command: TCommand, state: TState) => readonly DeciderEvent<TDefs>[];
  /** Folds one event into the state. Pure. */
  readonly evolve: (state: TState, event: DeciderEvent<TDefs>) => TState;
}

/** A decider: the pure logic of an entity, run by {@link createCommandHandler} against its stream. */
export interface Decider<TDefs extends AnyEventDefinition, TCommand, TState> extends Required<DeciderInput<TDefs, TCommand, TState>> {
  readonly kind: 'decider';
}

/**
 * Defines a decider: `decide(command, state)` returns new events, `evolve(state, event)` folds them.
 * @example
 * const cart = defineDecider({ name: 'cart', events: [ItemAdded], initialState: () => ({ items: 0 }),
 *   decide: (command: { add: number }, state) => [{ type: 'cart.item-added', data: { ... } }],
 *   evolve: (state, event) => ({ items: state.items + event.data.quantity }) });
 */
export function defineDecider<const TDefs extends AnyEventDefinition, TCommand, TState>(input: DeciderInput<TDefs, TCommand, TState>): Decider<TDefs, TCommand, TState> {
  if (typeof input.name !== 'string' || input.name === '') throw new UnilogError('InvalidArgument', 'defineDecider needs a name.', { argument: 'name', reason: 'empty' });
  const version = input.version ?? 1;
  if (!Number.isSafeInteger(version) || version < 1) throw new UnilogError('InvalidArgument', `A decider's version is a whole number of 1 or more, not ${String(input.version)}.`, { argument: 'version', reason: 'invalid' });
  for (const name of ['initialState', 'decide', 'evolve'] as const) {
    if (typeof input[name] !== 'function') throw new UnilogError('InvalidArgument', `defineDecider ${input.name} needs ${name} as a function.`, { argument: name, reason: 'not a function' });
  }
  return Object.freeze({ kind: 'decider', ...input, version });
}

/** Options of {@link createCommandHandler}. */
export interface CommandHandlerOptions {
  /** Attempts in all, after `ConcurrencyConflict`s, before giving up. @default 10 */
  readonly maxAttempts?: number;
  /** Snapshot the state every this many events (tagged with the decider's version). @default no snapshots */
  readonly snapshotEvery?: number;
}

/** What a handled command did. */
export interface CommandResult<TDefs extends AnyEventDefinition, TState> {
  readonly events: readonly DeciderEvent<TDefs>[];
  readonly state: TState;
  /** The stream's version after the append. */
  readonly version: number;
  /** Attempts it took (more than 1 after conflicts). */
  readonly attempts: number;
}

/**
 * A command handler: loads the stream's state, decides, appends with the version it loaded, and on a
 * `ConcurrencyConflict` (someone appended first) waits a random few milliseconds, loads and decides again, a bounded
 * number of times.
 */
export function createCommandHandler<TDefs extends AnyEventDefinition, TCommand, TState>(
  store: EventStore<TDefs>,
  decider: Decider<TDefs, TCommand, TState>,
  options: CommandHandlerOptions = {},
): (streamId: string, command: TCommand) => Promise<CommandResult<TDefs, TState>> {
  const maxAttempts = options.maxAttempts ?? 10;
  const snapshots = options.snapshotEvery === undefined ? undefined : { every: options.snapshotEvery, version: decider.version };
  return async (streamId, command) => {
    for (let attempt = 1; ; attempt++) {
      const { state, version } = await store.aggregateStream<TState>(streamId, {
        initialState: decider.initialState,
        evolve: (s, event) => decider.evolve(s, event),
        ...(snapshots ? { snapshots } : {}),
      });
      const events = decider.decide(command, state);
      if (events.length === 0) return { events, state, version, attempts: attempt };
      try {
        const result = await store.appendToStream(streamId, events as unknown as readonly StreamEventInput<TDefs>[], { expectedVersion: version });
        return { events, state: events.reduce(decider.evolve, state), version: result.nextExpectedVersion, attempts: attempt };
      } catch (error) {
        if (!isUnilogError(error, 'ConcurrencyConflict') || attempt >= maxAttempts) throw error;
        // Jitter: writers that lost together would otherwise reload together and conflict again, one winner a round.
        await sleep(Math.random() * Math.min(50, 2 ** attempt));
      }
    }
  };
}

/** What `then` accepts as an expected failure: an error class, a unilog error code, or a predicate. */
export type ExpectedFailure = ErrorCode | (new (...args: never[]) => Error) | ((error: unknown) => boolean);

/**
 * Given/when/then tests for a decider, without a store.
 * @example
 * const given = deciderSpec(cart);
 * given([added]).when({ kind: 'checkout' }).then([{ type: 'cart.checked-out', data: { cartId: 'c1' } }]);
 * given([]).when({ kind: 'checkout' }).thenThrows('InvalidArgument');
 */
export function deciderSpec<TDefs extends AnyEventDefinition, TCommand, TState>(decider: Decider<TDefs, TCommand, TState>) {
  return (events: readonly DeciderEvent<TDefs>[]) => ({
    when: (command: TCommand) => {
      const run = () => decider.decide(command, events.reduce(decider.evolve, decider.initialState()));
      return {
        /** Asserts the command causes exactly these events (types and data, in order), or fails as `expected`. */
        then(expected: readonly DeciderEvent<TDefs>[] | ExpectedFailure): void {
          if (!Array.isArray(expected)) {
            expectFailure(run, expected as ExpectedFailure);
            return;
          }
          const actual = run().map((event) => ({ type: event.type, data: event.data }));
          deepStrictEqual(actual, expected.map((event: DeciderEvent<TDefs>) => ({ type: event.type, data: event.data })), `${decider.name}: the command caused other events than expected`);
        },
        /** Asserts the command is refused as `expected` (any error when not given). */
        thenThrows(expected?: ExpectedFailure): void {
          expectFailure(run, expected);
        },
      };
    },
  });
}

function expectFailure(run: () => unknown, expected: ExpectedFailure | undefined): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new AssertionError({ message: 'expected the command to be refused, but it was decided' });
  if (expected === undefined) return;
  const matches =
    typeof expected === 'string'
      ? isUnilogError(caught, expected)
      : expected.prototype instanceof Error || (expected as unknown) === Error
        ? caught instanceof (expected as new (...args: never[]) => Error)
        : (expected as (error: unknown) => boolean)(caught);
  if (!matches) throw new AssertionError({ message: `the command was refused, but not as expected: ${(caught as Error).message}`, actual: caught, expected });
}
