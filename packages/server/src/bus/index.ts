export type { Bus, BusEvents, BusTopic } from './types.js';
export { MemoryBus } from './memory.js';
