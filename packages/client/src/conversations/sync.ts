/**
 * @module A full sync (DESIGN §6): fetch and process everything new, settle message requests,
 * rejoin lost groups, reconcile members, share titles and top up KeyPackages.
 */
import type { MessengerContext } from './context.js';
import type { Inbox } from './inbox.js';
import type { KeyPackages } from './key-packages.js';
import { reconcileAll, shareTitles } from './reconcile.js';
import { rejoinLostGroups } from './rejoin.js';
import { settleRequests } from './requests.js';

/** Contacts are fetched at most once meanwhile, however many groups ask (#11 §6). */
export function syncAll(ctx: MessengerContext, inbox: Inbox, titleNeeded: Map<string, string>, keyPackages: KeyPackages): Promise<void> {
  return ctx.contacts.duringSync(async () => {
    await inbox.fetchAll();
    await settleRequests(ctx);
    let groups = await ctx.groups.list();
    // Joining changes the routing lists: read them again before reconciling.
    if ((await rejoinLostGroups(ctx, groups)).length > 0) groups = await ctx.groups.list();
    await reconcileAll(ctx, inbox, groups);
    await shareTitles(ctx, inbox, titleNeeded);
    await keyPackages.ensure({ recount: true });
  });
}
