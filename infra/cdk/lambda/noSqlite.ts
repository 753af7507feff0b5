/**
 * Stands in for better-sqlite3 in the Lambda bundles (an esbuild alias, see ../bundling.ts). Shared code imports
 * SQLite for the embedded backend; on Lambda client ids and views live in DynamoDB, so nothing opens a database, and
 * the bundles carry no native module. If something does, it fails here and says why.
 * @module
 */
import { UnilogError } from '../../../src/errors.ts';

/** better-sqlite3's `Database`, which these bundles leave out: `new Database(file)` throws `InvalidArgument`. */
export default function Database(filename?: unknown): never {
  throw new UnilogError('InvalidArgument', `This Lambda bundle has no SQLite, yet something opened ${String(filename)}: give the service a DynamoDB id index (ids) and projections DynamoDB view storage, as infra/cdk/lambda/ does.`, { argument: 'better-sqlite3', reason: 'left out of the Lambda bundle' });
}
