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
  /** PostgreSQL URL: keep state there, shared by every node, instead of SQLite in dataDir. */
  postgresUrl?: string;
  /** Redis URL: share bus events and presence between nodes through Redis instead of in-process only. */
  redisUrl?: string;
  /** Prefix of every Redis key and channel, so several deployments (or test runs) can share one Redis. Default `parley:`. */
  redisNamespace?: string;
  /** How long to keep retrying PostgreSQL and Redis at start before giving up. Default 30 s. */
  startupTimeoutMs?: number;
  /**
   * With Redis: a node that has not proved itself alive for this long (it crashed, or lost Redis)
   * has its users shown offline by the others. Default 15 s.
   */
  presenceTtlMs?: number;
  /**
   * The server's key file (Noise static key and OPAQUE setup). Default `<dataDir>/server-keys.json`.
   * Every node of one deployment must use the same file: clients pin the key, and registrations
   * are bound to the OPAQUE setup.
   */
  keyFile?: string;
  /** Everyone sees everyone online, not just their group peers (DESIGN §7: an `open` server). */
  openDirectory: boolean;
  /** Group log entries older than this are deleted, read or not; devices are told of the gap (DESIGN §6). */
  retentionMs: number;
  /** Most unacknowledged entries one device may have in one group; beyond it the oldest are skipped and reported. */
  deviceBacklogQuota: number;
  /** Directory of the built web client (packages/web/dist), served at `/` when set. */
  webRoot?: string;
}

export const defaultConfig: ServerConfig = {
  host: '127.0.0.1',
  port: 8080,
  dataDir: './data',
  handshakeTimeoutMs: 10_000,
  authTimeoutMs: 120_000,
  maxBadFrames: 10,
  logLevel: 'info',
  openDirectory: false,
  retentionMs: 30 * 24 * 60 * 60_000,
  deviceBacklogQuota: 10_000,
};

export function resolveConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  return { ...defaultConfig, ...defined };
}
