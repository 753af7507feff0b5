import pino from 'pino';
import { startService } from '../../service/server.ts';
import { localOnly } from '../client.ts';
import { dataDir, requireConfig, usageError } from '../context.ts';
import { write, type Io } from '../output.ts';
import { untilSignal } from '../signals.ts';
import { awsTarget, byBackend, type AwsBackendOptions } from './aws.ts';

/** Options of `unilog serve`. */
export interface ServeCommandOptions extends AwsBackendOptions {
  readonly port?: string;
  readonly host?: string;
  readonly insecure?: boolean;
}

/** `unilog serve`: runs the service on the data folder (or on AWS) until SIGINT or SIGTERM, then drains and exits 0. */
export async function serveCommand(options: ServeCommandOptions, io: Io): Promise<number> {
  localOnly(options, 'serve');
  const port = Number(options.port ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw usageError(`unilog serve: --port must be a port number (0 to 65535), not ${JSON.stringify(options.port)}.`);
  const start = byBackend(
    options,
    'serve',
    () => async (common: Common) => startService({ ...common, dir: dataDir(options, common.config) }),
    () => {
      const target = awsTarget(options, 'serve');
      return async (common: Common) => {
        // The AWS SDK loads only for this backend.
        const { startAwsService } = await import('../../aws/service/startAwsService.ts');
        return startAwsService({ ...common, ...target });
      };
    },
  );
  const config = await requireConfig(options);
  const host = options.host ?? '127.0.0.1';
  const logger = pino({ name: 'unilog' }, pino.destination({ dest: 2, sync: true }));
  if (options.insecure === true) {
    io.stderr.write(`warning: --insecure: anyone who can reach ${host}${port === 0 ? '' : `:${port}`} may publish any event type, read every event and operate consumers, without a key.\n`);
  }
  const service = await start({ config, port, host, insecure: options.insecure === true, logger });
  await write(io.stdout, io.json ? `${JSON.stringify({ url: service.url })}\n` : `unilog serve: listening on ${service.url} (stop with Ctrl-C)\n`);
  await untilSignal();
  await service.close();
  return 0;
}

/** What both backends' start functions take. */
interface Common {
  readonly config: Awaited<ReturnType<typeof requireConfig>>;
  readonly port: number;
  readonly host: string;
  readonly insecure: boolean;
  readonly logger: pino.Logger;
}

