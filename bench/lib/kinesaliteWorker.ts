/**
 * The kinesalite process of {@link startKinesalite} (bench/lib/localAws.ts): starts kinesalite on a random port of
 * 127.0.0.1, with the options test/aws/globalSetup.ts uses, sends the port to the parent and serves until the parent
 * disconnects. Running the server in its own process keeps its CPU off the event loop that is being measured.
 */
import kinesalite from 'kinesalite';

const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 10_000 });
server.once('error', (error) => {
  process.stderr.write(`kinesalite: ${error.message}\n`);
  process.exit(1);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string' || !process.send) {
    process.stderr.write('kinesalite: no TCP address or no IPC channel\n');
    process.exit(1);
  }
  process.send({ port: address.port });
});
process.once('disconnect', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
