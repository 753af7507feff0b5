import { z } from 'zod';
import { defineProjection } from '../src/index.ts';
import { PhotoAssigned, PhotographerRegistered, PhotoUnassigned, ProductImageAdded } from '../sample-app/events.ts';

export const photographerRow = z.object({
  photographerId: z.string(),
  name: z.string(),
  phone: z.string(),
  registeredAt: z.string(),
  /**
   * The registration event's id: with `registeredAt` it orders photographers by registration (ties of open
   * assignments go to the earliest). Not the log position: positions are opaque and, on Kinesis, not numbers.
   */
  registration: z.string(),
  openAssignments: z.number().int(),
  completed: z.number().int(),
});
export type PhotographerRow = z.output<typeof photographerRow>;

/** Photographer registrations, by phone, with open and completed assignment counts. */
export const photographersProjection = defineProjection({
  name: 'photographers',
  version: 2,
  events: [PhotographerRegistered, PhotoAssigned, PhotoUnassigned, ProductImageAdded],
  tables: {
    photographers: { row: photographerRow, key: 'photographerId', indexes: ['phone'] },
    // Which photographer holds which product, so that completing or unassigning it frees the right one once.
    holding: { row: z.object({ productId: z.string(), photographerId: z.string() }), key: 'productId', indexes: [] },
  },
}).on({
  'photographer.registered': async (event, view) => {
    const known = await view.photographers.get(event.data.photographerId);
    // A re-registration changes name and phone, not the counts or the place in line.
    view.photographers.put(
      known
        ? { ...known, name: event.data.name, phone: event.data.phone }
        : { ...event.data, registeredAt: event.time, registration: event.id, openAssignments: 0, completed: 0 },
    );
  },
  'photo.assigned': async (event, view) => {
    const photographer = await view.photographers.get(event.data.photographerId);
    if (!photographer) return;
    view.holding.put({ productId: event.data.productId, photographerId: event.data.photographerId });
    view.photographers.put({ ...photographer, openAssignments: photographer.openAssignments + 1 });
  },
  'photo.unassigned': async (event, view) => {
    await release(view, event.data.productId, false);
  },
  'product.image-added': async (event, view) => {
    await release(view, event.data.productId, true);
  },
});

type Tables = Parameters<NonNullable<(typeof photographersProjection)['handlers']['photo.unassigned']>>[1];

async function release(view: Tables, productId: string, completed: boolean): Promise<void> {
  const holding = await view.holding.get(productId);
  if (!holding) return;
  view.holding.delete(productId);
  const photographer = await view.photographers.get(holding.photographerId);
  if (photographer) view.photographers.put({ ...photographer, openAssignments: Math.max(0, photographer.openAssignments - 1), completed: photographer.completed + (completed ? 1 : 0) });
}

/** Orders photographer rows by registration: time, then event id. */
export function byRegistration(a: PhotographerRow, b: PhotographerRow): number {
  if (a.registeredAt !== b.registeredAt) return a.registeredAt < b.registeredAt ? -1 : 1;
  return a.registration < b.registration ? -1 : a.registration > b.registration ? 1 : 0;
}
