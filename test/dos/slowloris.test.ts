/**
 * slowhttptest in slowloris mode (-H: headers that never end) against a server with the default
 * settings (DESIGN §10): each connection is cut at the upgrade deadline and counts a strike, the
 * attacking address is banned and then refused at accept, and an honest client on another address
 * is answered throughout. Runs slowhttptest from PARLEY_SLOWHTTPTEST, which test/support/dos-setup.ts sets.
 */
import { spawn } from 'node:child_process';
import { defaultConfig } from '@parley/server';
import { describe, expect, it } from 'vitest';
import { metric, percentile, report, round, timed } from '../support/abuse.js';
import { TestDevice } from '../support/device.js';
import { socketFactoryFrom } from '../support/harness.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const CONNECTIONS = 1_000;
const SECONDS = 30;

interface Status {
  second: number;
  connected: number;
  closed: number;
  error: number;
  available: string;
}

/** slowhttptest's status blocks, colours stripped. */
function statuses(output: string): Status[] {
  // eslint-disable-next-line no-control-regex
  const text = output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  return [...text.matchAll(/status on (\d+)\w* second:\s+initializing:\s+\d+\s+pending:\s+\d+\s+connected:\s+(\d+)\s+error:\s+(\d+)\s+closed:\s+(\d+)\s+service available:\s+(\w+)/g)].map((m) => ({
    second: Number(m[1]),
    connected: Number(m[2]),
    error: Number(m[3]),
    closed: Number(m[4]),
    available: m[5] ?? '?',
  }));
}

interface AttackFigures {
  timeline: Status[];
  metrics: string;
  latencies: number[];
  failures: number;
  exitCode: number | null;
}

/** Runs slowhttptest against `server` from 127.0.0.1 while an honest client on 127.0.0.2 keeps asking whoami. */
async function slowloris(server: ServerProcess, name: string): Promise<AttackFigures> {
  const honest = new TestDevice(server, { socketFactory: socketFactoryFrom('127.0.0.2') });
  await (await honest.open()).register(name, 'slowloris test password');
  let output = '';
  // -H slow headers, -c connections, -r per second, -i seconds between header lines, -x bytes per line, -l seconds, -p probe timeout.
  const attack = spawn(process.env.PARLEY_SLOWHTTPTEST ?? 'slowhttptest', ['-H', '-c', String(CONNECTIONS), '-r', '200', '-i', '5', '-x', '24', '-p', '3', '-l', String(SECONDS), '-t', 'GET', '-u', `${server.url}/v1/ws`]);
  attack.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  attack.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const finished = new Promise<number | null>((resolve) => attack.on('exit', resolve));
  const latencies: number[] = [];
  let failures = 0;
  let attacking = true;
  void finished.then(() => (attacking = false));
  while (attacking) {
    try {
      latencies.push((await timed(async () => (await honest.open()).whoami())).ms);
    } catch {
      failures++;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  honest.close();
  return { timeline: statuses(output), metrics: await server.metrics(), latencies, failures, exitCode: await finished };
}

function figures(title: string, setting: string, { timeline, metrics, latencies, failures, exitCode }: AttackFigures) {
  const peak = Math.max(0, ...timeline.map((status) => status.connected));
  const last = timeline.at(-1);
  report(title, {
    attack: `slowhttptest -H: ${CONNECTIONS} connections at 200/s, a header line every 5 s, up to ${SECONDS} s, from 127.0.0.1 (ended after ${last?.second ?? '?'} s, exit ${exitCode})`,
    settings: setting,
    'slowhttptest saw': `peak ${peak} connected; at the end ${last?.connected} connected, ${last?.closed} closed, ${last?.error} errors; its probe: service available ${last?.available}`,
    timeline: timeline.map((status) => `t=${status.second}s ${status.connected} connected, ${status.closed} closed`).join('; '),
    'server: cut at the deadline': metric(metrics, 'parley_connections_closed_total', { reason: 'upgrade_timeout' }),
    'server: refused at accept': `too many connections ${metric(metrics, 'parley_connections_refused_total', { stage: 'tcp', reason: 'too_many_connections' })}, banned ${metric(metrics, 'parley_connections_refused_total', { stage: 'tcp', reason: 'banned' })}`,
    'server: addresses banned': metric(metrics, 'parley_bans_total'),
    'honest client (127.0.0.2)': `${latencies.length} requests, ${failures} failed; p50 ${round(percentile(latencies, 50))} ms, p95 ${round(percentile(latencies, 95))} ms, max ${round(Math.max(...latencies))} ms`,
  });
  return { peak, last };
}

describe('slowhttptest, slowloris mode', () => {
  it('with the default settings: refused past 100 connections, the rest cut at the deadline, the attacker banned', async () => {
    const server = await startServerProcess();
    try {
      const attack = await slowloris(server, 'honest-one');
      const { peak } = figures('slowloris against the defaults', `defaults: ${defaultConfig.maxConnectionsPerIp} connections per address, upgrade deadline ${defaultConfig.upgradeTimeoutMs} ms, ban after ${defaultConfig.strikeLimit} strikes in ${defaultConfig.strikeWindowMs / 1000} s`, attack);
      expect(peak).toBeLessThanOrEqual(defaultConfig.maxConnectionsPerIp + 1);
      expect(metric(attack.metrics, 'parley_connections_refused_total', { reason: 'too_many_connections' })).toBeGreaterThan(0);
      expect(metric(attack.metrics, 'parley_connections_closed_total', { reason: 'upgrade_timeout' })).toBeGreaterThanOrEqual(defaultConfig.strikeLimit);
      expect(metric(attack.metrics, 'parley_bans_total')).toBe(1);
      expect(attack.failures).toBe(0);
      expect(percentile(attack.latencies, 95)).toBeLessThan(1_000);
    } finally {
      await server.stop();
    }
  });

  it('with no cap on connections: 1,000 slow connections held, all cut at the deadline, the attacker banned', async () => {
    const server = await startServerProcess({ maxConnectionsPerIp: 10_000 });
    try {
      const attack = await slowloris(server, 'honest-two');
      const { peak } = figures('slowloris, no per-address cap', `maxConnectionsPerIp 10,000; upgrade deadline ${defaultConfig.upgradeTimeoutMs} ms; ban after ${defaultConfig.strikeLimit} strikes`, attack);
      expect(peak).toBeGreaterThan(CONNECTIONS * 0.9);
      expect(metric(attack.metrics, 'parley_connections_closed_total', { reason: 'upgrade_timeout' })).toBeGreaterThan(CONNECTIONS * 0.9);
      expect(metric(attack.metrics, 'parley_bans_total')).toBe(1);
      expect(attack.failures).toBe(0);
      expect(percentile(attack.latencies, 95)).toBeLessThan(1_000);
    } finally {
      await server.stop();
    }
  });
});
