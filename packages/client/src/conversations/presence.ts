/** @module Who is online among the people I share conversations with (DESIGN §7), in pages. */
import type { Requester } from '../connection/requester.js';

const PAGE = 200;

/** Online users visible to me, at most `limit`, in name order. */
export async function onlineUsers(request: Requester, limit: number): Promise<string[]> {
  const users: string[] = [];
  let after: string | undefined;
  while (users.length < limit) {
    const page = await request('presence.list', { limit: Math.min(PAGE, limit - users.length), ...(after ? { after } : {}) });
    users.push(...page.users);
    if (!page.next) break;
    after = page.next;
  }
  return users;
}
