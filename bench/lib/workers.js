/**
 * @module Load generators: `count` worker processes (./load-worker.js), never inside a server's
 * process, driven over IPC. `call` runs a command in one worker and resolves to its result;
 * `events` receives what workers report on their own (fan-out rounds).
 */
import { fileURLToPath } from 'node:url';
import { spawnNode } from './processes.js';

const WORKER = fileURLToPath(new URL('./load-worker.js', import.meta.url));

class Worker {
  #child;
  #nextId = 1;
  #pending = new Map();
  #exited;

  constructor(index, onEvent) {
    this.index = index;
    this.#child = spawnNode([WORKER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.pid = this.#child.pid;
    this.#child.on('message', (message) => {
      if (message.event) return onEvent({ worker: index, ...message });
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error) pending?.reject(new Error(`load generator ${index}: ${message.error}`));
      else pending?.resolve(message.result);
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', resolve));
    void this.#exited.then((code) => {
      for (const { reject } of this.#pending.values()) reject(new Error(`load generator ${index} exited with ${code}`));
      this.#pending.clear();
    });
  }

  call(command, args = {}) {
    const id = this.#nextId++;
    this.#child.send({ id, command, args });
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  async stop() {
    if (this.#child.exitCode === null) this.#child.kill('SIGTERM');
    await this.#exited;
  }
}

/** Starts `count` load generators. Set `onEvent` on the result to receive their own reports. */
export async function startWorkers(count) {
  const pool = { onEvent: () => {} };
  const workers = Array.from({ length: count }, (_, index) => new Worker(index, (event) => pool.onEvent(event)));
  await Promise.all(workers.map((worker) => worker.call('ready')));
  return Object.assign(pool, {
    workers,
    /** Runs `command` in every worker, with `argsOf(index)` as its arguments. */
    all: (command, argsOf = () => ({})) => Promise.all(workers.map((worker, index) => worker.call(command, argsOf(index)))),
    stop: () => Promise.all(workers.map((worker) => worker.stop())),
  });
}

/** Splits `items` round-robin into `count` slices, one per worker. */
export function deal(items, count) {
  const slices = Array.from({ length: count }, () => []);
  items.forEach((item, index) => slices[index % count].push(item));
  return slices;
}
