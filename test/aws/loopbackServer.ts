import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * Serves `handle` on 127.0.0.1 at a free port, for the test proxies. A request whose handler throws is recorded in
 * `errors` (for the test to assert on: an answer the client retries would hide a proxy bug as one more fault) and
 * its connection is dropped.
 */
export async function listenLoopback(name: string, handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>, errors: unknown[]): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      errors.push(error);
      req.socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`The ${name} has no TCP address.`);
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}
