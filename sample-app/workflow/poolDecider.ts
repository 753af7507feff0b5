// The photographer pool, as a decider over one stream (`photo-pool`): who is registered (in registration order),
// how many open assignments each has, which product holds whom, and which products wait for a registration. The
// claim is conditional: it is appended at the version the choice was made on, so two products claiming at once
// cannot both count against the same state; the loser reloads and chooses again.
import { defineDecider } from '../../src/index.ts';
import { PhotographerClaimed, PhotographerEnlisted, PhotographerReleased, PhotoQueued } from '../events.ts';

/** The events of the pool's stream. */
export const poolEvents = [PhotographerEnlisted, PhotographerClaimed, PhotographerReleased, PhotoQueued] as const;
/** An event definition of the pool's stream. */
export type PoolEvent = (typeof poolEvents)[number];

/** A photographer of the pool. */
export interface PooledPhotographer {
  readonly photographerId: string;
  readonly name: string;
  readonly phone: string;
  /** Open assignments counted against them. */
  readonly open: number;
}

/** The state of the pool. */
export interface PoolState {
  /** In registration order: ties of `open` go to the earliest. */
  readonly photographers: readonly PooledPhotographer[];
  /** Open claims, oldest first: one per product at most. */
  readonly claims: readonly { readonly productId: string; readonly attempt: number; readonly photographerId: string }[];
  /** Products waiting for a photographer to register, oldest first. */
  readonly queue: readonly { readonly productId: string; readonly attempt: number }[];
}

/** A command to the pool. */
export type PoolCommand =
  | { readonly kind: 'enlist'; readonly photographerId: string; readonly name: string; readonly phone: string }
  | { readonly kind: 'claim'; readonly productId: string; readonly attempt: number; readonly exclude: readonly string[] }
  | { readonly kind: 'release'; readonly productId: string; readonly attempt: number; readonly reason: 'photo' | 'deadline' | 'withdrawn' };

/** The one stream of the pool. */
export const poolStream = 'photo-pool';

/** The photographer with the fewest open assignments, the earliest registered on a tie, leaving out `exclude`. */
export function leastLoaded(photographers: readonly PooledPhotographer[], exclude: readonly string[]): PooledPhotographer | undefined {
  let best: PooledPhotographer | undefined;
  for (const p of photographers) if (!exclude.includes(p.photographerId) && (best === undefined || p.open < best.open)) best = p;
  return best;
}

/** The decider of the photographer pool. */
export const poolDecider = defineDecider({
  name: 'photographer-pool',
  version: 1,
  events: poolEvents,
  initialState: (): PoolState => ({ photographers: [], claims: [], queue: [] }),
  decide: (command: PoolCommand, state: PoolState) => {
    switch (command.kind) {
      case 'enlist': {
        const { photographerId, name, phone } = command;
        const known = state.photographers.find((p) => p.photographerId === photographerId);
        if (known && known.name === name && known.phone === phone) return [];
        // A phone names one photographer: an incoming photo is matched to its sender's assignment by the phone.
        if (state.photographers.some((p) => p.phone === phone && p.photographerId !== photographerId)) return [];
        return [{ type: 'photo.photographer-enlisted' as const, data: { photographerId, name, phone } }];
      }
      case 'claim': {
        const { productId, attempt } = command;
        const held = state.claims.find((c) => c.productId === productId);
        if (held?.attempt === attempt) return [];
        if (held) throw new Error(`Product ${productId} still holds ${held.photographerId} for attempt ${held.attempt}: release it before claiming attempt ${attempt}.`);
        const chosen = leastLoaded(state.photographers, command.exclude);
        if (chosen) return [{ type: 'photo.photographer-claimed' as const, data: { productId, attempt, photographerId: chosen.photographerId } }];
        return state.queue.some((q) => q.productId === productId && q.attempt === attempt) ? [] : [{ type: 'photo.queued' as const, data: { productId, attempt } }];
      }
      case 'release': {
        const held = state.claims.find((c) => c.productId === command.productId && c.attempt === command.attempt);
        return held ? [{ type: 'photo.photographer-released' as const, data: { ...held, reason: command.reason } }] : [];
      }
    }
  },
  evolve: (state, event): PoolState => {
    switch (event.type) {
      case 'photo.photographer-enlisted': {
        const { photographerId, name, phone } = event.data;
        const known = state.photographers.some((p) => p.photographerId === photographerId);
        // A re-registration changes name and phone, not the count or the place in line.
        const photographers = known ? state.photographers.map((p) => (p.photographerId === photographerId ? { ...p, name, phone } : p)) : [...state.photographers, { photographerId, name, phone, open: 0 }];
        return { ...state, photographers };
      }
      case 'photo.photographer-claimed': {
        const { productId, attempt, photographerId } = event.data;
        return {
          photographers: state.photographers.map((p) => (p.photographerId === photographerId ? { ...p, open: p.open + 1 } : p)),
          claims: [...state.claims, { productId, attempt, photographerId }],
          queue: state.queue.filter((q) => q.productId !== productId),
        };
      }
      case 'photo.photographer-released': {
        const { productId, photographerId } = event.data;
        return {
          ...state,
          photographers: state.photographers.map((p) => (p.photographerId === photographerId ? { ...p, open: Math.max(0, p.open - 1) } : p)),
          claims: state.claims.filter((c) => c.productId !== productId),
        };
      }
      case 'photo.queued':
        return { ...state, queue: [...state.queue, { productId: event.data.productId, attempt: event.data.attempt }] };
    }
  },
});
