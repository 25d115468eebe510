/** @module `parley serve`: run a server until SIGINT/SIGTERM, then shut down gracefully. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, startServer } from '@parley/server';

export interface ServeOptions {
  port?: string;
  host?: string;
  data?: string;
  tlsCert?: string;
  tlsKey?: string;
  logLevel?: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export async function serve(options: ServeOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const port = Number(options.port ?? env.PARLEY_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage(`--port must be 0..65535, not ${options.port ?? env.PARLEY_PORT}`);
  const logLevel = options.logLevel ?? env.PARLEY_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const certFile = options.tlsCert ?? env.PARLEY_TLS_CERT;
  const keyFile = options.tlsKey ?? env.PARLEY_TLS_KEY;
  if ((certFile === undefined) !== (keyFile === undefined)) throw usage('--tls-cert and --tls-key go together');
  const tls = certFile && keyFile ? { cert: await readFile(certFile), key: await readFile(keyFile) } : undefined;

  // Logs go to stderr so stdout carries only the two announcement lines scripts wait for.
  const logger = createLogger(logLevel, process.stderr);
  const webRoot = webClientDir();
  if (!webRoot) logger.warn({ event: 'web.missing' }, 'the web client is not built (npm run build -w @parley/web); serving the API only');
  const server = await startServer({
    port,
    host: options.host ?? env.PARLEY_HOST ?? '127.0.0.1',
    dataDir: options.data ?? env.PARLEY_DATA ?? './data',
    logger,
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

function usage(message: string): Error {
  return Object.assign(new Error(message), { code: 'BAD_INPUT' });
}
