import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Options of {@link startS3rver}. */
export interface S3rverOptions {
  /** @default 0: a free port */
  readonly port?: number;
  /** Keep buckets and objects in this folder across restarts. @default a temporary folder, removed by `stop` */
  readonly directory?: string;
}

/** s3rver in this process on 127.0.0.1; it accepts only the key pair S3RVER/S3RVER and path-style requests. */
export async function startS3rver(options: S3rverOptions = {}): Promise<{ readonly port: number; stop(): Promise<void> }> {
  const { default: S3rver } = await import('s3rver');
  const temporary = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(path.join(tmpdir(), 'unilog-s3rver-')));
  const s3rver = new S3rver({ address: '127.0.0.1', port: options.port ?? 0, silent: true, directory, resetOnClose: false });
  let port: number;
  try {
    ({ port } = await s3rver.run());
  } catch (error) {
    if (temporary) await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    stop: async () => {
      await s3rver.close();
      if (temporary) await rm(directory, { recursive: true, force: true });
    },
  };
}
