import { createServer, connect, type Server, type Socket } from 'node:net';

/** A started backend: where it listens, and how to stop it. */
export interface RunningServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** A front port on 127.0.0.1 that starts its backend on the first connection and pipes every connection to it. */
export interface LazyServer {
  /** `http://127.0.0.1:<front port>`. */
  readonly endpoint: string;
  /** How long the backend took to answer, once it has started. */
  readonly startupMs: number | undefined;
  /** Closes the front port and stops the backend if it was started. */
  close(): Promise<void>;
}

/**
 * Listens on a random port of 127.0.0.1 and starts the backend only when a test connects: most test runs never
 * touch AWS, and loading kinesalite and s3rver costs ~1.5 s of CPU, a JVM far more. A backend that fails to start
 * fails every connection at once (no hang), and the next connection tries again.
 */
export async function startLazyServer(start: () => Promise<RunningServer>): Promise<LazyServer> {
  let backend: Promise<RunningServer> | undefined;
  let startupMs: number | undefined;
  const sockets = new Set<Socket>();

  const ensureStarted = () => {
    if (!backend) {
      const began = performance.now();
      backend = start().then((running) => {
        startupMs = Math.round(performance.now() - began);
        return running;
      });
      // A failed start is retried by the next connection rather than cached forever.
      backend.catch(() => (backend = undefined));
    }
    return backend;
  };

  // pauseOnConnect: bytes sent before the backend is up wait in the socket until it is piped.
  const front: Server = createServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    ensureStarted().then(
      ({ port }) => {
        const upstream = connect(port, '127.0.0.1');
        sockets.add(upstream);
        upstream.on('close', () => { sockets.delete(upstream); socket.destroy(); });
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
        socket.pipe(upstream).pipe(socket);
      },
      (error: unknown) => {
        console.error(`[aws test servers] ${(error as Error).message}`);
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(0, '127.0.0.1', resolve);
  });
  const address = front.address();
  if (address === null || typeof address === 'string') throw new Error('The lazy server has no TCP address.');

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    get startupMs() {
      return startupMs;
    },
    async close() {
      const closed = new Promise<void>((resolve) => front.close(() => { resolve(); }));
      for (const socket of sockets) socket.destroy();
      await closed;
      const running = await backend?.catch(() => undefined);
      await running?.stop();
    },
  };
}
