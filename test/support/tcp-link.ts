/**
 * Loopback TCP forwarding for tests: a port that relays each connection to a target, which a
 * test can re-route (a load balancer), tap (a network capture) or cut (a network failure).
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface LinkTarget {
  host: string;
  port: number;
}

export interface TcpLink {
  port: number;
  /** Send new connections here from now on; open ones stay where they are. */
  route(target: LinkTarget): void;
  /** Drop every open connection, as a failing network would. */
  cut(): void;
  close(): Promise<void>;
}

/** The host and port of a URL, with the scheme's default port when it names none. */
export function targetOf(url: string, defaultPort: number): LinkTarget {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || defaultPort) };
}

/** `url` with its host and port replaced by the link's, for clients to connect through it. */
export function throughLink(url: string, link: { port: number }): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(link.port);
  return parsed.href;
}

export async function startTcpLink(
  initial: LinkTarget,
  options: { port?: number; tap?: { upstream(chunk: Buffer): void; downstream(chunk: Buffer): void } } = {},
): Promise<TcpLink> {
  let target = initial;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    if (options.tap) {
      client.on('data', options.tap.upstream);
      upstream.on('data', options.tap.downstream);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const cut = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port: (server.address() as AddressInfo).port,
    route: (next) => {
      target = next;
    },
    cut,
    close: () => {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
