import { afterAll } from 'vitest';
import { createDynamoEventStore, createOutboxRelay } from '../../src/aws/index.ts';
import { createMemoryEventLog, type EventLog } from '../../src/index.ts';
import { createTestStoreTables, dynamoLocalClient } from '../aws/outboxTables.ts';
import { describeEventStoreContract, storeEvents } from './eventStore.contract.ts';

const client = dynamoLocalClient();
afterAll(() => { client.destroy(); });

describeEventStoreContract('dynamodb (DynamoDB Local, outbox relayed to a memory log)', {
  create: async () => {
    const tables = await createTestStoreTables(client);
    const memory = createMemoryEventLog();
    const store = createDynamoEventStore({ client, tableName: tables.tableName, outboxTableName: tables.outboxTableName, catalog: storeEvents, source: 'contract' });
    const relay = createOutboxRelay({ client, outboxTableName: tables.outboxTableName, log: memory });
    // Events reach the log only through the relay: the fixture's log runs it to the end before each read, as a relay that caught up.
    const log: EventLog = {
      capabilities: memory.capabilities,
      append: (events) => memory.append(events),
      read: async (options) => { await relay.pump(); return memory.read(options); },
      subscribe: (options) => memory.subscribe(options),
      head: async () => { await relay.pump(); return memory.head(); },
      close: () => memory.close(),
    };
    return { store, log, dispose: async () => { await relay.close(); await store.close(); await memory.close(); await tables.remove(); } };
  },
});
