// The photo assignment of one product, as a decider over the stream `photo-<productId>`: who has it, which
// attempt it is, who was tried. Every command is idempotent (a repeated or stale one decides nothing), because the
// reactor that sends them runs at least once and timers may fire twice.
import { defineDecider } from '../../src/index.ts';
import { PhotoAssigned, PhotoAssignmentCompleted, PhotoRequested, PhotoUnassigned, PhotoUnavailable } from '../events.ts';

/** The events of a product's assignment stream. */
export const assignmentEvents = [PhotoRequested, PhotoAssigned, PhotoUnassigned, PhotoUnavailable, PhotoAssignmentCompleted] as const;
/** An event definition of an assignment stream. */
export type AssignmentEvent = (typeof assignmentEvents)[number];

/** Where a product's photo stands. */
export type AssignmentStatus = 'new' | 'open' | 'assigned' | 'done' | 'unavailable';

/** The state of a product's photo assignment. */
export interface AssignmentState {
  readonly status: AssignmentStatus;
  readonly productName: string;
  readonly merchantName: string;
  /** The number of the last attempt (0 before the first assignment). */
  readonly attempt: number;
  /** The photographer of the current attempt, while `assigned`. */
  readonly assignee: { readonly photographerId: string; readonly phone: string; readonly deadline: string } | undefined;
  /** Every photographer assigned so far, in order: none of them is assigned this product again. */
  readonly tried: readonly string[];
}

/** A command to a product's assignment. */
export type AssignmentCommand =
  | { readonly kind: 'request'; readonly productId: string; readonly productName: string; readonly merchantName: string }
  | { readonly kind: 'assign'; readonly productId: string; readonly attempt: number; readonly photographerId: string; readonly phone: string; readonly deadline: string }
  | { readonly kind: 'time-out'; readonly productId: string; readonly attempt: number; readonly maxAttempts: number }
  | { readonly kind: 'complete'; readonly productId: string; readonly photographerId: string };

/** The stream of a product's photo assignment. */
export const assignmentStream = (productId: string): string => `photo-${productId}`;

/** The decider of a product's photo assignment. */
export const assignmentDecider = defineDecider({
  name: 'photo-assignment',
  version: 1,
  events: assignmentEvents,
  initialState: (): AssignmentState => ({ status: 'new', productName: '', merchantName: '', attempt: 0, assignee: undefined, tried: [] }),
  decide: (command: AssignmentCommand, state: AssignmentState) => {
    const { productId } = command;
    switch (command.kind) {
      case 'request':
        return state.status === 'new' ? [{ type: 'photo.requested' as const, data: { productId, productName: command.productName, merchantName: command.merchantName } }] : [];
      case 'assign': {
        // Only the next attempt of an open product: a repeat, or a command decided on a state that moved on, is a no-op.
        if (state.status !== 'open' || command.attempt !== state.attempt + 1) return [];
        if (state.tried.includes(command.photographerId)) throw new Error(`${command.photographerId} already had product ${productId}: a product is never assigned to the same photographer twice.`);
        return [{ type: 'photo.assigned' as const, data: { productId, photographerId: command.photographerId, phone: command.phone, attempt: command.attempt, deadline: command.deadline } }];
      }
      case 'time-out': {
        // A deadline of an attempt that is over (photo taken, an earlier attempt, a timer that fired twice) is ignored.
        if (state.status !== 'assigned' || command.attempt !== state.attempt || !state.assignee) return [];
        const unassigned = { type: 'photo.unassigned' as const, data: { productId, photographerId: state.assignee.photographerId, attempt: state.attempt, reason: 'deadline' as const } };
        return state.attempt >= command.maxAttempts ? [unassigned, { type: 'photo.unavailable' as const, data: { productId, attempts: state.attempt } }] : [unassigned];
      }
      case 'complete':
        // Only the current assignee completes it: a late photo of an unassigned photographer changes nothing.
        if (state.status !== 'assigned' || state.assignee?.photographerId !== command.photographerId) return [];
        return [{ type: 'photo.assignment-completed' as const, data: { productId, photographerId: command.photographerId, attempt: state.attempt } }];
    }
  },
  evolve: (state, event): AssignmentState => {
    switch (event.type) {
      case 'photo.requested':
        return { ...state, status: 'open', productName: event.data.productName, merchantName: event.data.merchantName };
      case 'photo.assigned':
        return {
          ...state,
          status: 'assigned',
          attempt: event.data.attempt,
          assignee: { photographerId: event.data.photographerId, phone: event.data.phone, deadline: event.data.deadline },
          tried: [...state.tried, event.data.photographerId],
        };
      case 'photo.unassigned':
        return { ...state, status: 'open', assignee: undefined };
      case 'photo.unavailable':
        return { ...state, status: 'unavailable', assignee: undefined };
      case 'photo.assignment-completed':
        return { ...state, status: 'done', assignee: undefined };
    }
  },
});
