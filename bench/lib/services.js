/**
 * @module PostgreSQL and Redis for the multi-node scenario: PARLEY_POSTGRES_URL and
 * PARLEY_REDIS_URL, else PARLEY_TEST_POSTGRES_URL and PARLEY_TEST_REDIS_URL, else the local
 * defaults of .ci/run. Each run gets a fresh database (dropped at the end) and Redis namespace.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';

export const postgresUrl = process.env.PARLEY_POSTGRES_URL ?? process.env.PARLEY_TEST_POSTGRES_URL ?? 'postgres://postgres:root@127.0.0.1:5432/test';
export const redisUrl = process.env.PARLEY_REDIS_URL ?? process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function redisAnswers(url) {
  const target = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(target.port || 6379), target.hostname);
    socket.setTimeout(3_000, () => socket.destroy(new Error('timed out')));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      socket.end();
      const answer = data.toString().trim();
      // A password-protected Redis answers NOAUTH, which still proves it is there.
      resolve(answer === '+PONG' || answer.startsWith('-NOAUTH') ? undefined : `Redis answered ${JSON.stringify(answer)}`);
    });
    socket.on('error', (error) => resolve(`Redis at ${target.host} is not reachable (${error.message})`));
  });
}

/** Why PostgreSQL or Redis cannot be used, or undefined if both answer. */
export async function servicesUnavailable() {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.end();
  } catch (error) {
    return `PostgreSQL at ${new URL(postgresUrl).host} is not reachable (${error.message})`;
  }
  return redisAnswers(redisUrl);
}

/** A fresh database and Redis namespace for one run; `drop()` removes the database. */
export async function freshServices() {
  const tag = randomBytes(6).toString('hex');
  const database = `parley_bench_${tag}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create database ${pg.escapeIdentifier(database)}`);
  const url = new URL(postgresUrl);
  url.pathname = `/${database}`;
  return {
    postgresUrl: url.href,
    redisUrl,
    redisNamespace: `parley-bench-${tag}:`,
    drop: async () => {
      await admin.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
      await admin.end();
    },
  };
}
