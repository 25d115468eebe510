/**
 * A front door for tests with several server nodes: one address that forwards each new TCP
 * connection to the node it currently routes to, as a load balancer does when its health check
 * takes a dead node out. A client profile is bound to one server address (and its pinned key),
 * so a client that moves between nodes does so behind one front, exactly as in production.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface Front {
  /** http://127.0.0.1:PORT, the address clients use. */
  url: string;
  /** Send new connections to this node from now on (open ones stay where they are). */
  route(target: { url: string }): void;
  close(): Promise<void>;
}

export async function startFront(initial: { url: string }): Promise<Front> {
  let target = new URL(initial.url);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    route: (next) => {
      target = new URL(next.url);
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
