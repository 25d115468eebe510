/**
 * @module The traffic patterns a load generator plays over its open connections, the same over
 * Parley's and over the baseline's (wire.js):
 * - relay: every connection sends to its peer; each message is pushed to the peer, which
 *   acknowledges it. Closed loop (one message in flight per connection: full load) or paced (a
 *   fixed rate, with latency counted from when each message was due, so a stalled server cannot
 *   hide its delay by slowing the senders down).
 * - fan-out: one connection sends, every other receives and acknowledges; arrivals are timed.
 * - logins: connect, log in with the password, disconnect, over and over.
 */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Milliseconds on a clock all processes on this machine share. */
export const wallClock = () => performance.timeOrigin + performance.now();
const DRAIN_TIMEOUT_MS = 30_000;

/** Counts requests in flight, so a phase can wait for every reply before it reports. */
class InFlight {
  count = 0;
  errors = 0;
  firstError = undefined;

  /** Resolves to whether `promise` succeeded. */
  track(promise) {
    this.count++;
    return promise.then(
      () => {
        this.count--;
        return true;
      },
      (error) => {
        this.count--;
        this.errors++;
        this.firstError ??= error.message;
        return false;
      },
    );
  }

  async drained(isDone = () => true) {
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while ((this.count > 0 || !isDone()) && Date.now() < deadline) await sleep(5);
  }
}

/**
 * Relay over `ends` ({ connection, conversation, peer }), each sending to its peer, for
 * `warmupMs` then `durationMs` measured. `rate`: messages per second over all these ends (paced);
 * absent: closed loop. Latency runs from sending (or from when it was due) to the peer's push.
 */
export async function relay(ends, { warmupMs, durationMs, rate }) {
  const inFlight = new InFlight();
  const latencies = [];
  let recording = false;
  let stopping = false;
  for (const end of ends) {
    // Send times of this end's messages its peer has not received yet: a connection's requests
    // are handled in order, so its messages reach the peer in the order they were sent.
    end.unreceived = [];
    end.connection.onDelivery(({ ack }) => {
      const sentAt = end.peer.unreceived.shift();
      if (recording && sentAt !== undefined) latencies.push(Math.round((performance.now() - sentAt) * 100) / 100);
      void inFlight.track(ack());
    });
  }
  const send = async (end, sentAt) => {
    end.unreceived.push(sentAt);
    const sent = await inFlight.track(end.connection.send(end.conversation));
    // A refused message is never pushed: forget it, or later pushes would be matched to it.
    if (!sent) end.unreceived.splice(end.unreceived.lastIndexOf(sentAt), 1);
    return sent;
  };
  const sending = rate === undefined ? closedLoop(ends, send, () => stopping) : paced(ends, send, rate, () => stopping);
  await sleep(warmupMs);
  recording = true;
  const cpu = process.cpuUsage();
  await sleep(durationMs);
  recording = false;
  const { user, system } = process.cpuUsage(cpu);
  stopping = true;
  await sending;
  await inFlight.drained(() => ends.every((end) => end.unreceived.length === 0));
  // Accepted by the server but not pushed to the peer within the drain timeout.
  const unpushed = ends.reduce((sum, end) => sum + end.unreceived.length, 0);
  return { delivered: latencies.length, latencies, errors: inFlight.errors, firstError: inFlight.firstError, unpushed, cpuSeconds: (user + system) / 1e6 };
}

function closedLoop(ends, send, stopping) {
  return Promise.all(
    ends.map(async (end) => {
      // A connection that failed stops; the errors are reported.
      while (!stopping() && (await send(end, performance.now())));
    }),
  );
}

async function paced(ends, send, rate, stopping) {
  const interval = (1000 * ends.length) / rate;
  const start = performance.now();
  // Random phases spread the senders over the interval.
  for (const end of ends) end.due = start + Math.random() * interval;
  while (!stopping()) {
    const now = performance.now();
    for (const end of ends) {
      for (; end.due <= now; end.due += interval) void send(end, end.due);
    }
    await sleep(1);
  }
}

/**
 * Fan-out: every end but the sender records when each push arrives and when its acknowledgement
 * is answered; once all of this worker's members have round `r`, `report(r, arrivals, lastAckAt)`.
 */
export function listenForFanOut(members, report) {
  const rounds = [];
  for (const member of members) {
    let received = 0;
    member.connection.onDelivery(({ ack }) => {
      const round = received++;
      const entry = (rounds[round] ??= { arrivals: [], acked: 0, lastAckAt: 0 });
      entry.arrivals.push(wallClock());
      void ack().then(
        () => {
          entry.lastAckAt = Math.max(entry.lastAckAt, wallClock());
          if (++entry.acked === members.length) report(round, entry.arrivals, entry.lastAckAt);
        },
        // The round then never completes, and the bench says so when it times out.
        (error) => console.error(`load generator: acknowledgement failed: ${error.message}`),
      );
    });
  }
}

/** Logs in again and again for `durationMs`, `concurrency` at a time, each on a new connection. */
export async function logins(open, accounts, { durationMs, concurrency, password }) {
  const deadline = performance.now() + durationMs;
  let next = 0;
  let completed = 0;
  let errors = 0;
  let firstError;
  let sizes;
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const account = accounts[next++ % accounts.length];
        try {
          const connection = await open();
          await connection.login(account, password);
          sizes ??= connection.sizes;
          connection.close();
          completed++;
        } catch (error) {
          errors++;
          firstError ??= error.message;
        }
      }
    }),
  );
  const { user, system } = process.cpuUsage(cpu);
  return { logins: completed, errors, firstError, sizes, cpuSeconds: (user + system) / 1e6 };
}
