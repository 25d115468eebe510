import { runPresenceConformance } from './presence-conformance.testkit.js';
import { MemoryPresenceStore } from './presence-store.js';

// One process is one node: both handles are the same store.
runPresenceConformance('in-process', async () => {
  const store = new MemoryPresenceStore();
  return { a: store, b: store, close: async () => undefined };
});
