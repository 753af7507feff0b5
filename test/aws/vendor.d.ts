// The local AWS servers ship no types; these declare the little of them that test/aws/globalSetup.ts uses.

declare module 'kinesalite' {
  import type { Server } from 'node:http';

  interface KinesaliteOptions {
    /** How long a new stream stays CREATING, in ms (kinesalite's default is 500). */
    createStreamMs?: number;
    deleteStreamMs?: number;
    updateStreamMs?: number;
    /** The open shards allowed over all streams (kinesalite's default is 10). */
    shardLimit?: number;
  }

  /** Returns an HTTP server that is not yet listening; its `close` also closes the in-memory store. */
  export default function kinesalite(options?: KinesaliteOptions): Server;
}

declare module 's3rver' {
  import type { AddressInfo } from 'node:net';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    resetOnClose?: boolean;
  }

  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }
}
