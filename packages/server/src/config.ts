/** @module Server configuration: defaults, overridden by flags or PARLEY_* environment variables. */
import { iceServersSchema, type IceServer } from '@parley/protocol';

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
  /** Everyone sees everyone online, not just their mutual contacts (DESIGN §7: an `open` server). */
  openDirectory: boolean;
  /** Group log entries older than this are deleted, read or not; devices are told of the gap (DESIGN §6). */
  retentionMs: number;
  /** Most unacknowledged entries one device may have in one group; beyond it the oldest are skipped and reported. */
  deviceBacklogQuota: number;
  /** Most devices one group may hold; a commit that would pass it is refused (DESIGN §10 limits). */
  maxGroupDevices: number;
  /** Most groups one user may be in (at most 10,000, what group.list can return); creating or joining one more is refused. */
  maxGroupsPerUser: number;
  /** Bytes an account may fetch a second (sync.fetch), on average; bursts of two seconds' worth. */
  fetchBytesPerSecond: number;
  /** Directory of the built web client (packages/web/dist), served at `/` when set. */
  webRoot?: string;

  // Abuse defences (DESIGN §10). Every one of them is counted in /metrics when it bites.
  /** From TCP accept (or the end of the TLS handshake, itself bounded by this) to a complete HTTP request or WebSocket upgrade. */
  upgradeTimeoutMs: number;
  /** All of an HTTP request's headers (Node's `headersTimeout`), for every request on a connection. */
  headersTimeoutMs: number;
  /** A whole HTTP request, body included (Node's `requestTimeout`). */
  requestTimeoutMs: number;
  /** An idle keep-alive HTTP connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** An open WebSocket is pinged this often... */
  pingIntervalMs: number;
  /** ...and cut when a pong is this late. */
  pongTimeoutMs: number;
  /** Bytes queued for a WebSocket that is not reading; past this it is cut rather than buffered for. */
  maxBufferedBytes: number;
  /** Open TCP connections per client address (IPv6: per /64); more are refused at accept. */
  maxConnectionsPerIp: number;
  /** Requests per second per connection (token bucket, bursts of two seconds' worth). */
  connectionRequestsPerSecond: number;
  /** Requests per second per account, over all its connections to this node. */
  accountRequestsPerSecond: number;
  /** Strikes (missed deadlines, malformed frames, failed logins) within `strikeWindowMs` that ban an address... */
  strikeLimit: number;
  strikeWindowMs: number;
  /** ...for this long: its connections are refused at accept. */
  banMs: number;
  /**
   * Highest proof-of-work difficulty in leading zero bits. 17 bits is 2^17 ≈ 131,000 hashes on
   * average; `solvePow` does ~250,000–470,000 hashes/s in Node on a 2-core server, so ~0.3–0.5 s
   * there and ~0.5–1 s in a browser worker. The search is random: one in twenty takes over three
   * times the mean, so about two seconds is what a legitimate browser pays at worst (DESIGN §10).
   */
  powMaxDifficulty: number;
  /** Registration or login attempts per second (each, per node) above which difficulty rises one bit a second. */
  powTargetPerSecond: number;
  /** How long a proof-of-work challenge stays valid. */
  powChallengeTtlMs: number;
  /**
   * Failed proofs of one account's credential (logins, recoveries, password checks, from any
   * address) that cost nothing; each further one adds a bit of proof of work to that account's
   * proofs, from 10 bits up to `powAccountMaxDifficulty`. Never a lockout: the owner pays the same.
   */
  accountFailureLimit: number;
  /** An account's failed proofs are forgotten this long after the latest one. */
  accountFailureWindowMs: number;
  /**
   * Highest proof-of-work difficulty for an account's proofs after repeated failures. 20 bits is
   * about a million hashes: 2–4 s in Node, up to about 8 s in a browser, paid only while someone
   * keeps guessing that account's password; each guess costs the guesser as much.
   */
  powAccountMaxDifficulty: number;
  /** Reverse proxies (exact addresses) whose `X-Forwarded-For` names the client; they are never struck or limited themselves. */
  trustedProxies: string[];

  // Time-locked messages (DESIGN §8).
  /**
   * The reference speed a lock's squarings are counted at: T = (unlockAt − now) × this. The
   * default, 1,000,000 a second, is GMP on one core of a current server (1.1–1.2 million 2048-bit
   * squarings a second on this project's 2-core Xeon): a recipient with GMP and a similar core
   * opens a puzzle about on time, faster hardware earlier (see the README).
   */
  timelockSquaringsPerSecond: number;
  /** The furthest ahead an unlock time may be (default one year); later ones get BAD_INPUT. */
  timelockMaxHorizonMs: number;
  /** RSW modulus size in bits: 2048 (the minimum) to 4096, whole bytes. */
  timelockModulusBits: number;
  /** How long one modulus serves new locks before a fresh one replaces it; the old one is kept until its locks are released. */
  timelockRotationMs: number;
  /** Lock requests per account per minute. */
  timelockLocksPerMinute: number;
  /** Unreleased locks an account may have at once. */
  timelockMaxPendingPerAccount: number;

  // Direct sessions (DESIGN §9).
  /** STUN and TURN servers passed to clients for direct sessions (`PARLEY_ICE_SERVERS`, JSON); none by default: host candidates (LAN, loopback). */
  iceServers: IceServer[];
  /** Direct-session requests a device may make per minute. */
  directRequestsPerMinute: number;
  /** Signalling messages (offers, answers, candidates, ends) a device may relay per minute; bursts up to the same number. */
  directSignalsPerMinute: number;
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
  maxGroupDevices: 1000,
  maxGroupsPerUser: 1000,
  fetchBytesPerSecond: 2 * 1024 * 1024,
  upgradeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  pingIntervalMs: 30_000,
  pongTimeoutMs: 10_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxConnectionsPerIp: 100,
  connectionRequestsPerSecond: 50,
  accountRequestsPerSecond: 100,
  strikeLimit: 10,
  strikeWindowMs: 60_000,
  banMs: 10 * 60_000,
  powMaxDifficulty: 17,
  powTargetPerSecond: 10,
  powChallengeTtlMs: 60_000,
  accountFailureLimit: 5,
  accountFailureWindowMs: 60 * 60_000,
  powAccountMaxDifficulty: 20,
  trustedProxies: [],
  timelockSquaringsPerSecond: 1_000_000,
  timelockMaxHorizonMs: 365 * 24 * 60 * 60_000,
  timelockModulusBits: 2048,
  timelockRotationMs: 30 * 24 * 60 * 60_000,
  timelockLocksPerMinute: 30,
  timelockMaxPendingPerAccount: 1_000,
  iceServers: [],
  directRequestsPerMinute: 20,
  directSignalsPerMinute: 120,
};

/** The abuse and time-lock settings that `abuseConfigFromEnv` reads, each from `PARLEY_` + its name in SNAKE_CASE. */
const ABUSE_NUMBERS = [
  'handshakeTimeoutMs',
  'authTimeoutMs',
  'maxBadFrames',
  'upgradeTimeoutMs',
  'headersTimeoutMs',
  'requestTimeoutMs',
  'keepAliveTimeoutMs',
  'pingIntervalMs',
  'pongTimeoutMs',
  'maxBufferedBytes',
  'maxConnectionsPerIp',
  'connectionRequestsPerSecond',
  'accountRequestsPerSecond',
  'maxGroupDevices',
  'maxGroupsPerUser',
  'fetchBytesPerSecond',
  'strikeLimit',
  'strikeWindowMs',
  'banMs',
  'powMaxDifficulty',
  'powTargetPerSecond',
  'powChallengeTtlMs',
  'accountFailureLimit',
  'accountFailureWindowMs',
  'powAccountMaxDifficulty',
  'timelockSquaringsPerSecond',
  'timelockMaxHorizonMs',
  'timelockModulusBits',
  'timelockRotationMs',
  'timelockLocksPerMinute',
  'timelockMaxPendingPerAccount',
  'directRequestsPerMinute',
  'directSignalsPerMinute',
] as const satisfies readonly (keyof ServerConfig)[];

/** `strikeWindowMs` → `PARLEY_STRIKE_WINDOW_MS`. */
export const envName = (key: string): string => `PARLEY_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;

/**
 * The abuse and time-lock settings given in the environment (`PARLEY_BAN_MS=60000`,
 * `PARLEY_TIMELOCK_SQUARINGS_PER_SECOND=500000`, `PARLEY_TRUSTED_PROXIES=10.0.0.1,10.0.0.2`, ...),
 * for `parley serve` to pass on. A value that is not a non-negative number is an error naming the variable.
 */
export function abuseConfigFromEnv(env: Record<string, string | undefined>): Partial<ServerConfig> {
  const config: Partial<Record<(typeof ABUSE_NUMBERS)[number], number>> & Partial<ServerConfig> = {};
  for (const key of ABUSE_NUMBERS) {
    const raw = env[envName(key)];
    if (raw === undefined || raw.trim() === '') continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${envName(key)} must be a non-negative number, not ${JSON.stringify(raw)}`);
    config[key] = value;
  }
  const proxies = env.PARLEY_TRUSTED_PROXIES;
  if (proxies) config.trustedProxies = proxies.split(',').map((proxy) => proxy.trim()).filter(Boolean);
  const iceServers = env.PARLEY_ICE_SERVERS;
  if (iceServers?.trim()) config.iceServers = parseIceServers(iceServers);
  return config;
}

export function resolveConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  return { ...defaultConfig, ...defined };
}

/** `PARLEY_ICE_SERVERS`: a JSON list like `[{"urls":["stun:stun.example.org:3478"]}]`, as RTCPeerConnection takes it. */
export function parseIceServers(raw: string): IceServer[] {
  try {
    return iceServersSchema.parse(JSON.parse(raw));
  } catch (error) {
    throw new Error(`PARLEY_ICE_SERVERS must be a JSON list of {"urls": [...], "username"?, "credential"?}: ${(error as Error).message}`, { cause: error });
  }
}
