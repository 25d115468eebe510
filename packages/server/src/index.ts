/** @module @parley/server: the Parley server (Node only). */
export { startServer, type RunningServer, type StartOptions } from './server.js';
export { abuseConfigFromEnv, defaultConfig, resolveConfig, type ServerConfig } from './config.js';
export { createLogger, type Logger } from './logger.js';
export { defaultKeyPackageServiceOptions, type KeyPackageServiceOptions } from './services/key-packages.js';
export { MemoryBus, type Bus, type BusEvents, type BusTopic } from './bus/index.js';
