/**
 * @module What a group's history says when its membership changes (pure): who added or removed
 * whom, who joined, who left, and a member's new device, worked out from a commit's devices and
 * the members before and after it.
 */
import type { MembershipChange } from '@parley/client';

/** A group's members as last seen, and who announced leaving (so their removal is not said twice). */
export interface Roster {
  members: string[];
  departed: string[];
}

/** A change by username. */
export interface UserChange {
  by: string;
  added: string[];
  removed: string[];
}

export interface Said {
  /** Stable within the change, so it is said once however often it is worked out. */
  key: string;
  text: string;
}

const unique = (names: string[]): string[] => [...new Set(names)].sort();

/** The users a commit added and removed devices of; a device that rejoined (removed and added at once, lost state) is not news. */
export function userChange(change: MembershipChange): UserChange {
  const rejoined = new Set(change.removed.filter((r) => change.added.some((a) => a.deviceId === r.deviceId)).map((r) => r.deviceId));
  const users = (devices: MembershipChange['added']) => unique(devices.filter((device) => !rejoined.has(device.deviceId)).map((device) => device.username));
  return { by: change.by, added: users(change.added), removed: users(change.removed) };
}

/**
 * The lines for `change` in a group where I am `me`, given the roster before it (undefined when
 * this browser never saw one) and the members after it; and the roster to keep.
 */
export function describeChange(me: string, known: Roster | undefined, after: string[], change: UserChange): { said: Said[]; roster: Roster } {
  const who = (username: string) => (username === me ? 'You' : username);
  const before = known ? known.members : after.filter((user) => !change.added.includes(user));
  const departed = known?.departed ?? [];
  const said: Said[] = [];
  for (const user of change.added) {
    // My own new device is mine to know (Devices lists it), not news for my chats.
    if (user === me) continue;
    if (before.includes(user)) said.push({ key: `device:${user}`, text: `${user} has a new device.` });
    else said.push({ key: `added:${user}`, text: change.by === user ? `${user} joined.` : `${who(change.by)} added ${user}.` });
  }
  for (const user of change.removed) {
    // One device went (revoked, say) and the user is still a member; or the user left, which was said.
    if (after.includes(user) || departed.includes(user)) continue;
    said.push({ key: `removed:${user}`, text: `${who(change.by)} removed ${who(user)}.` });
  }
  return { said, roster: { members: unique(after), departed: departed.filter((user) => after.includes(user)) } };
}
