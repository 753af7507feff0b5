import pino from 'pino';
import { defineConfig } from '../../src/index.ts';
import { createKey } from '../../src/service/keys.ts';
import { startService, type RunningService, type StartServiceOptions } from '../../src/service/server.ts';
import { ItemAdded, ItemRemoved, cartProjection } from './cart.ts';
import { tempDir } from './tempDir.ts';

/** The config the service tests run: the cart events and the counting cart projection. */
export const cartConfig = defineConfig({ events: [ItemAdded, ItemRemoved], projections: [cartProjection()] });

/** Keys of a test service: one per scope combination the tests need. */
export interface TestKeys {
  /** Producer `cart-service`, may publish both cart types. */
  readonly writer: string;
  /** Producer `cart-service`, may publish only cart.item-added. */
  readonly adder: string;
  /** Producer `reader`, read only. */
  readonly reader: string;
  /** Producer `ops`, read and admin. */
  readonly admin: string;
}

/** Creates the test keys in a data folder. */
export function createTestKeys(dir: string): TestKeys {
  return {
    writer: createKey(dir, { producer: 'cart-service', types: ['cart.item-added', 'cart.item-removed'], read: false, admin: false }).key,
    adder: createKey(dir, { producer: 'cart-service', types: ['cart.item-added'], read: false, admin: false }).key,
    reader: createKey(dir, { producer: 'reader', types: [], read: true, admin: false }).key,
    admin: createKey(dir, { producer: 'ops', types: [], read: true, admin: true }).key,
  };
}

/** A service on a fresh data folder, on a free loopback port. */
export async function startTestService(options: Partial<StartServiceOptions> = {}): Promise<{ service: RunningService; dir: string; keys: TestKeys; close: () => Promise<void> }> {
  const { dir, remove } = await tempDir('unilog-service-');
  const keys = createTestKeys(dir);
  const service = await startService({ dir, config: cartConfig, port: 0, logger: pino({ level: 'silent' }), ...options });
  return {
    service,
    dir,
    keys,
    close: async () => {
      await service.close();
      await remove();
    },
  };
}

/** A JSON POST to the service. */
export function post(url: string, body: unknown, key: string | undefined, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}

/** A GET with a key. */
export function get(url: string, key?: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...headers } });
}
