import { runBusConformance } from './conformance.testkit.js';
import { MemoryBus } from './memory.js';

// One process is one node: both handles are the same bus.
runBusConformance('in-process', async () => {
  const bus = new MemoryBus();
  return { a: bus, b: bus, close: () => bus.close() };
});
