import type { Server } from 'node:http';

/** Options of {@link startKinesalite}. */
export interface KinesaliteOptions {
  /** @default 0: a free port */
  readonly port?: number;
  /** Keep streams in LevelDB in this folder across restarts. @default in memory */
  readonly path?: string;
  /** The region kinesalite stamps into ARNs. @default AWS_REGION, else us-east-1 */
  readonly region?: string;
  /** Open shards allowed over all streams (kinesalite's own default is 10). @default 10000 */
  readonly shardLimit?: number;
}

/** kinesalite in this process on 127.0.0.1, with no CREATING/DELETING delay; `stop` closes it and its store. */
export async function startKinesalite(options: KinesaliteOptions = {}): Promise<{ readonly port: number; stop(): Promise<void> }> {
  const { default: kinesalite } = await import('kinesalite');
  // Kinesalite reads the region for its ARNs from the environment when it starts.
  const saved = process.env.AWS_REGION;
  if (options.region !== undefined) process.env.AWS_REGION = options.region;
  let server: Server;
  try {
    server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: options.shardLimit ?? 10_000, ...(options.path === undefined ? {} : { path: options.path }) });
  } finally {
    if (saved === undefined) delete process.env.AWS_REGION;
    else process.env.AWS_REGION = saved;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('kinesalite has no TCP address.');
  return {
    port: address.port,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((error) => { if (error) reject(error); else resolve(); }));
    },
  };
}
