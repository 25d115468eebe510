/** @module `parley serve`: run a server until SIGINT/SIGTERM, then shut down gracefully. */
import { readFile } from 'node:fs/promises';
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
  const server = await startServer({
    port,
    host: options.host ?? env.PARLEY_HOST ?? '127.0.0.1',
    dataDir: options.data ?? env.PARLEY_DATA ?? './data',
    logger,
    ...(tls ? { tls } : {}),
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

function usage(message: string): Error {
  return Object.assign(new Error(message), { code: 'BAD_INPUT' });
}
