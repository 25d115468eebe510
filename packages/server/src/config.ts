/** @module Server configuration: defaults, overridden by flags or PARLEY_* environment variables. */

export interface ServerConfig {
  host: string;
  port: number;
  /** Directory for the SQLite database and the server's key file. */
  dataDir: string;
  /** Time to finish the Noise handshake after the WebSocket opens. */
  handshakeTimeoutMs: number;
  /** Time to register, log in or authenticate a device after the handshake. */
  authTimeoutMs: number;
  /** Malformed frames tolerated on one connection before it is closed. */
  maxBadFrames: number;
  /** PEM certificate and key: serve https:// and wss:// instead of plain http. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Minimum pino level to log. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export const defaultConfig: ServerConfig = {
  host: '127.0.0.1',
  port: 8080,
  dataDir: './data',
  handshakeTimeoutMs: 10_000,
  authTimeoutMs: 120_000,
  maxBadFrames: 10,
  logLevel: 'info',
};

export function resolveConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  return { ...defaultConfig, ...defined };
}
