// Pings a Parley server from its own process, so the latencies it measures are the server's and
// not the busy test process's: argv[2] is JSON { url, localAddress, intervalMs }. Prints "ready"
// once connected; on SIGTERM prints the latencies (ms, JSON array) and exits. Uses the built packages.
import { NoiseNXInitiator } from '@parley/crypto';
import { decodeServerMessage, encodeCbor, encodeRequest, fragment, Reassembler } from '@parley/protocol';
import { WebSocket } from 'ws';

const { url, localAddress, intervalMs } = JSON.parse(process.argv[2] ?? '{}');
const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { localAddress, perMessageDeflate: false });
await new Promise((resolve, reject) => {
  ws.once('open', resolve);
  ws.once('error', reject);
});
const initiator = new NoiseNXInitiator();
const frames = [];
let waiting;
ws.on('message', (data) => {
  frames.push(new Uint8Array(data));
  waiting?.();
});
const nextFrame = async () => {
  while (frames.length === 0) await new Promise((resolve) => (waiting = resolve));
  return frames.shift();
};
ws.send(initiator.writeMessage1(encodeCbor({ v: 1 })));
const { result: channel } = initiator.readMessage2(await nextFrame());
const reassembler = new Reassembler();
const latencies = [];
let running = true;
process.once('SIGTERM', () => (running = false));
process.stdout.write('ready\n');
for (let id = 1; running; id++) {
  const started = performance.now();
  for (const chunk of fragment(encodeRequest('ping', id, {}))) ws.send(channel.send.encrypt(chunk));
  for (;;) {
    const envelope = reassembler.push(channel.receive.decrypt(await nextFrame()));
    if (envelope && decodeServerMessage(envelope).type === 'reply') break;
  }
  latencies.push(performance.now() - started);
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
process.stdout.write(`${JSON.stringify(latencies)}\n`);
ws.close();
