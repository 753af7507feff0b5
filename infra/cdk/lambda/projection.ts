/**
 * The Lambda entry of every Hello Retail projection: the function's PROJECTION_NAME picks which one it keeps.
 * @module
 */
import { helloRetailProjections } from '../../../projections/index.ts';
import { createProjectionLambdaHandler } from './projectionHandler.ts';

/** The Kinesis event source mapping's handler. */
export const handler = createProjectionLambdaHandler(helloRetailProjections);
