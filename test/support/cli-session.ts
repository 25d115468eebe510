/** A long-running `parley` process (listen, direct) driven line by line: what it prints is waited for, what it reads is written. */
import { spawn } from 'node:child_process';
import { PARLEY_BIN } from './cli.js';

export interface CliSession {
  /** Resolves with the first JSON line on stdout that `match` accepts (those already printed count). */
  waitFor<T = Record<string, unknown>>(match: (line: T) => boolean, timeoutMs?: number): Promise<T>;
  /** JSON lines printed on stdout so far. */
  lines(): Record<string, unknown>[];
  stderr(): string;
  write(line: string): void;
  /** Closes standard input (end of input). */
  end(): void;
  exited: Promise<number | null>;
  /** SIGTERM by default; SIGKILL for a crash. */
  kill(signal?: NodeJS.Signals): void;
}

export function startCli(args: string[], env: Record<string, string> = {}): CliSession {
  const child = spawn(process.execPath, [PARLEY_BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const check of waiters) check();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    lines,
    stderr: () => stderr,
    waitFor: <T>(match: (line: T) => boolean, timeoutMs = 30_000) =>
      new Promise<T>((resolve, reject) => {
        const check = () => {
          const found = (lines() as T[]).find(match);
          if (found === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching line within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    write: (line) => void child.stdin.write(`${line}\n`),
    end: () => void child.stdin.end(),
    exited,
    kill: (signal = 'SIGTERM') => void (child.exitCode === null && child.kill(signal)),
  };
}
