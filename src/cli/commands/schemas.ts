import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createCatalog } from '../../events/catalog.ts';
import { serviceClient } from '../client.ts';
import { requireConfig, type GlobalOptions } from '../context.ts';
import { write, type Io } from '../output.ts';

/** Options of `unilog schemas export`. */
export interface SchemasExportOptions extends GlobalOptions {
  readonly out?: string;
}

/** `unilog schemas export [--out DIR]`: the JSON Schema of every event type's data, to stdout or one file per type. */
export async function schemasExportCommand(options: SchemasExportOptions, io: Io): Promise<number> {
  const schemas = await loadSchemas(options);
  if (options.out === undefined) {
    await write(io.stdout, `${JSON.stringify(Object.fromEntries(schemas.map((s) => [s.type, s.schema])), null, io.json ? 0 : 2)}\n`);
    return 0;
  }
  const out = path.resolve(options.out);
  await mkdir(out, { recursive: true });
  const files: string[] = [];
  for (const { type, version, schema } of schemas) {
    const file = path.join(out, `${type}.v${version}.schema.json`);
    await writeFile(file, `${JSON.stringify(schema, null, 2)}\n`);
    files.push(file);
  }
  await write(io.stdout, io.json ? `${JSON.stringify({ files })}\n` : `${files.map((f) => `wrote ${f}`).join('\n')}\n`);
  return 0;
}

async function loadSchemas(options: GlobalOptions): Promise<{ type: string; version: number; schema: unknown }[]> {
  const client = serviceClient(options);
  if (client) {
    const { types } = (await client.request<{ types: { type: string; version: number }[] }>('GET', '/schemas')).body;
    return Promise.all(types.map(async ({ type, version }) => ({ type, version, schema: (await client.request('GET', `/schemas/${encodeURIComponent(type)}`)).body })));
  }
  const catalog = createCatalog((await requireConfig(options)).events);
  return catalog.types.map((type) => ({ type, version: catalog.latest(type).version, schema: catalog.jsonSchema(type) }));
}
