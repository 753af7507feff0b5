/** The Hello Retail projections: each builds its own view database from the unified log. */
import { assignmentsProjection } from './assignments.ts';
import { cartsProjection } from './carts.ts';
import { catalogProjection } from './catalog.ts';
import { categoriesProjection } from './categories.ts';
import { photographersProjection } from './photographers.ts';
import { scoresProjection } from './scores.ts';

export { assignmentsProjection, cartsProjection, catalogProjection, categoriesProjection, photographersProjection, scoresProjection };
export type { AssignmentRow } from './assignments.ts';
export type { CartRow } from './carts.ts';
export type { ProductRow } from './catalog.ts';
export type { PhotographerRow } from './photographers.ts';

/** Every demo projection, in the order the operator page lists them. */
export const helloRetailProjections = [categoriesProjection, catalogProjection, photographersProjection, assignmentsProjection, cartsProjection, scoresProjection] as const;
