/** @module `parley serve`: run a server until SIGINT/SIGTERM, then shut down gracefully. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { abuseConfigFromEnv, createLogger, startServer } from '@parley/server';

export interface ServeOptions {
  port?: string;
  host?: string;
  data?: string;
  tlsCert?: string;
  tlsKey?: string;
  logLevel?: string;
  postgres?: string;
  redis?: string;
  redisNamespace?: string;
  keyFile?: string;
  openDirectory?: boolean;
  presenceTtl?: string;
  startupTimeout?: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export async function serve(options: ServeOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const port = Number(options.port ?? env.PARLEY_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage(`--port must be 0..65535, not ${options.port ?? env.PARLEY_PORT}`);
  const logLevel = options.logLevel ?? env.PARLEY_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const certFile = options.tlsCert ?? env.PARLEY_TLS_CERT;
  const tlsKeyFile = options.tlsKey ?? env.PARLEY_TLS_KEY;
  if ((certFile === undefined) !== (tlsKeyFile === undefined)) throw usage('--tls-cert and --tls-key go together');
  const tls = certFile && tlsKeyFile ? { cert: await readFile(certFile), key: await readFile(tlsKeyFile) } : undefined;
  // Several nodes: PostgreSQL for state, Redis for events and presence, one key file for all (DESIGN §12).
  const postgresUrl = nonEmpty(options.postgres ?? env.PARLEY_POSTGRES_URL);
  const redisUrl = nonEmpty(options.redis ?? env.PARLEY_REDIS_URL);
  const redisNamespace = nonEmpty(options.redisNamespace ?? env.PARLEY_REDIS_NAMESPACE);
  const keyFile = nonEmpty(options.keyFile ?? env.PARLEY_KEY_FILE);
  const openDirectory = options.openDirectory ?? /^(1|true|yes)$/i.test(env.PARLEY_OPEN_DIRECTORY ?? '');
  const presenceTtlMs = seconds('--presence-ttl', options.presenceTtl ?? env.PARLEY_PRESENCE_TTL, 0.1);
  const startupTimeoutMs = seconds('--startup-timeout', options.startupTimeout ?? env.PARLEY_STARTUP_TIMEOUT, 1);

  // Logs go to stderr so stdout carries only the two announcement lines scripts wait for.
  const logger = createLogger(logLevel, process.stderr);
  const webRoot = webClientDir();
  if (!webRoot) logger.warn({ event: 'web.missing' }, 'the web client is not built (npm run build -w @parley/web); serving the API only');
  if (postgresUrl && !redisUrl) {
    logger.warn({ event: 'redis.missing' }, "PostgreSQL without Redis: run one node only, as nodes would not push to, or see, each other's users");
  }
  if (redisUrl && !postgresUrl) {
    logger.warn({ event: 'postgres.missing' }, 'Redis without PostgreSQL: this node keeps its own SQLite database, which no other node shares');
  }
  const server = await startServer({
    // Abuse defences (DESIGN §10): PARLEY_BAN_MS, PARLEY_STRIKE_LIMIT, PARLEY_TRUSTED_PROXIES, ... (README).
    ...abuseConfigFromEnv(env),
    port,
    host: options.host ?? env.PARLEY_HOST ?? '127.0.0.1',
    dataDir: options.data ?? env.PARLEY_DATA ?? './data',
    logger,
    openDirectory,
    postgresUrl,
    redisUrl,
    redisNamespace,
    keyFile,
    presenceTtlMs,
    startupTimeoutMs,
    ...(tls ? { tls } : {}),
    ...(webRoot ? { webRoot } : {}),
  });
  process.stdout.write(`parley listening on ${server.url}\nserver key ${server.fingerprint}\n`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ event: 'server.signal', signal }, 'shutting down');
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

/** The built web client (packages/web/dist), if the @parley/web package is installed and built. */
function webClientDir(): string | undefined {
  try {
    const dist = join(dirname(fileURLToPath(import.meta.resolve('@parley/web/package.json'))), 'dist');
    return existsSync(join(dist, 'index.html')) ? dist : undefined;
  } catch {
    return undefined;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** A duration given in seconds (fractions allowed), in milliseconds. */
function seconds(flag: string, value: string | undefined, minimum: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < minimum) throw usage(`${flag} must be a number of seconds of at least ${minimum}, not ${value}`);
  return Math.round(parsed * 1000);
}

function usage(message: string): Error {
  return Object.assign(new Error(message), { code: 'BAD_INPUT' });
}
