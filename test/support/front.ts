/**
 * A front door for tests with several server nodes: one address that forwards each new TCP
 * connection to the node it currently routes to, as a load balancer does when its health check
 * takes a dead node out. A client profile is bound to one server address (and its pinned key),
 * so a client that moves between nodes does so behind one front, exactly as in production.
 */
import { startTcpLink, targetOf } from './tcp-link.js';

export interface Front {
  /** http://127.0.0.1:PORT, the address clients use. */
  url: string;
  /** Send new connections to this node from now on (open ones stay where they are). */
  route(target: { url: string }): void;
  close(): Promise<void>;
}

export async function startFront(initial: { url: string }): Promise<Front> {
  const link = await startTcpLink(targetOf(initial.url, 80));
  return {
    url: `http://127.0.0.1:${link.port}`,
    route: (next) => link.route(targetOf(next.url, 80)),
    close: () => link.close(),
  };
}
