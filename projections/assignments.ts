import { z } from 'zod';
import { defineProjection, type TableTransaction } from '../src/index.ts';
import { PhotoAssigned, PhotoReceived, PhotoRequested, PhotoUnassigned, PhotoUnavailable, ProductImageAdded } from '../sample-app/events.ts';

export const assignmentRow = z.object({
  productId: z.string(),
  productName: z.string(),
  status: z.enum(['requested', 'assigned', 'received', 'done', 'unavailable']),
  photographerId: z.string().nullable(),
  phone: z.string().nullable(),
  attempt: z.number().int(),
  deadline: z.string().nullable(),
  /** Every photographer asked so far, in order. */
  tried: z.array(z.string()),
  updatedAt: z.string(),
});
export type AssignmentRow = z.output<typeof assignmentRow>;

/** Photo assignments: per product, who has it, until when, who was tried. */
export const assignmentsProjection = defineProjection({
  name: 'assignments',
  version: 1,
  events: [PhotoRequested, PhotoAssigned, PhotoUnassigned, PhotoUnavailable, PhotoReceived, ProductImageAdded],
  tables: { assignments: { row: assignmentRow, key: 'productId', indexes: ['photographerId', 'status'] } },
}).on({
  'photo.requested': async (event, view) => {
    if (await view.assignments.get(event.data.productId)) return;
    view.assignments.put({ productId: event.data.productId, productName: event.data.productName, status: 'requested', photographerId: null, phone: null, attempt: 0, deadline: null, tried: [], updatedAt: event.time });
  },
  'photo.assigned': (event, view) =>
    update(view, event.data.productId, (a) => ({
      ...a,
      status: 'assigned',
      photographerId: event.data.photographerId,
      phone: event.data.phone,
      attempt: event.data.attempt,
      deadline: event.data.deadline,
      tried: a.tried.includes(event.data.photographerId) ? a.tried : [...a.tried, event.data.photographerId],
      updatedAt: event.time,
    })),
  'photo.unassigned': (event, view) => update(view, event.data.productId, (a) => ({ ...a, status: 'requested', photographerId: null, phone: null, deadline: null, updatedAt: event.time })),
  'photo.unavailable': (event, view) => update(view, event.data.productId, (a) => ({ ...a, status: 'unavailable', photographerId: null, phone: null, deadline: null, updatedAt: event.time })),
  'photo.received': (event, view) => update(view, event.data.productId, (a) => ({ ...a, status: 'received', updatedAt: event.time })),
  'product.image-added': (event, view) => update(view, event.data.productId, (a) => ({ ...a, status: 'done', deadline: null, updatedAt: event.time })),
});

async function update(view: { readonly assignments: TableTransaction<AssignmentRow> }, productId: string, change: (row: AssignmentRow) => AssignmentRow): Promise<void> {
  const row = await view.assignments.get(productId);
  // Done is final: a late workflow event for a product whose photo is attached changes nothing.
  if (row && row.status !== 'done') view.assignments.put(change(row));
}
