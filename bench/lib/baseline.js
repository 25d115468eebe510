/**
 * @module The baseline every scenario is measured against: a plain `ws` relay with no crypto and
 * no storage. Its clients (wire.js `BaselineConnection`) open the same connections as Parley's and
 * send frames of the same sizes in the same pattern: each request names the size of its reply, so
 * the relay answers as Parley did, and a message is pushed to its recipient with the size
 * Parley's push had. So the ratio Parley / baseline is what Parley's protocol, crypto and storage
 * cost over the physical limit of the transport on this machine.
 *
 * Frame: type (1 byte), target (u32), reply size (u32), push size (u32), zero padding to its size.
 * Two relays can be linked (`link`): a message for a connection on the other relay crosses the
 * link, as a message between two Parley nodes crosses Redis.
 */
import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

export const FrameType = { HELLO: 1, AUTH: 2, SEND: 3, REQUEST: 4, REPLY: 5, PUSH: 6, LINK: 7, FORWARD: 8 };
/** A SEND to this target goes to every other signed-in connection (fan-out). */
export const BROADCAST = 0xffffffff;
const HEADER_BYTES = 13;

export function frame(type, { size = HEADER_BYTES, target = 0, replySize = HEADER_BYTES, pushSize = HEADER_BYTES } = {}) {
  const bytes = Buffer.alloc(Math.max(size, HEADER_BYTES));
  bytes.writeUInt8(type, 0);
  bytes.writeUInt32BE(target, 1);
  bytes.writeUInt32BE(replySize, 5);
  bytes.writeUInt32BE(pushSize, 9);
  return bytes;
}

export const frameType = (bytes) => bytes.readUInt8(0);
const target = (bytes) => bytes.readUInt32BE(1);
const replySize = (bytes) => bytes.readUInt32BE(5);
const pushSize = (bytes) => bytes.readUInt32BE(9);

/** Starts a relay on `host`:`port` (0: any free port); resolves to `{ url, link(peerUrl), close() }`. */
export function startBaselineServer({ host = '127.0.0.1', port = 0 } = {}) {
  const byId = new Map();
  let peer;
  const push = (to, size) => to.send(frame(FrameType.PUSH, { size }));

  function deliver(bytes, from) {
    const to = target(bytes);
    if (to === BROADCAST) {
      const pushed = frame(FrameType.PUSH, { size: pushSize(bytes) });
      for (const socket of byId.values()) if (socket !== from) socket.send(pushed);
      return;
    }
    const local = byId.get(to);
    if (local) {
      push(local, pushSize(bytes));
    } else if (peer) {
      // The whole message crosses, as Parley's push crosses Redis.
      const forwarded = Buffer.from(bytes);
      forwarded.writeUInt8(FrameType.FORWARD, 0);
      peer.send(forwarded);
    }
  }

  function onMessage(socket, bytes) {
    switch (frameType(bytes)) {
      case FrameType.AUTH:
        byId.set(target(bytes), socket);
        break;
      case FrameType.SEND:
        // Parley pushes to the recipient before it answers the sender; so does the baseline.
        deliver(bytes, socket);
        break;
      case FrameType.LINK:
        peer = socket;
        return;
      case FrameType.FORWARD: {
        const local = byId.get(target(bytes));
        if (local) push(local, pushSize(bytes));
        return;
      }
    }
    socket.send(frame(FrameType.REPLY, { size: replySize(bytes) }));
  }

  const http = createServer((_request, response) => response.writeHead(404).end());
  const wss = new WebSocketServer({ server: http, path: '/v1/ws', perMessageDeflate: false });
  wss.on('connection', (socket) => {
    socket.on('message', (data) => onMessage(socket, data));
    socket.on('close', () => {
      for (const [id, open] of byId) if (open === socket) byId.delete(id);
    });
  });
  return new Promise((resolve) => {
    http.listen(port, host, () => {
      const url = `http://${host}:${http.address().port}`;
      resolve({
        url,
        /** Links this relay to another: messages for connections there cross this one socket. */
        link: async (peerUrl) => {
          const socket = new WebSocket(`${peerUrl.replace(/^http/, 'ws')}/v1/ws`, { perMessageDeflate: false });
          await new Promise((opened, failed) => socket.once('open', opened).once('error', failed));
          socket.on('message', (data) => onMessage(socket, data));
          socket.send(frame(FrameType.LINK));
          peer = socket;
        },
        close: () =>
          new Promise((closed) => {
            for (const socket of wss.clients) socket.terminate();
            peer?.terminate();
            wss.close();
            http.close(() => closed());
          }),
      });
    });
  });
}
