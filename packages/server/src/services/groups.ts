/**
 * @module Groups: the server as MLS Delivery Service (RFC 9420 §14, RFC 9750; DESIGN §6). It keeps
 * each group's routing list, admins, epoch and latest GroupInfo, and accepts a commit bundle only
 * for the current epoch (the first wins), storing all of it atomically before fanning it out.
 *
 * Admin rules: the creator is the first admin; admins may add and remove anyone's devices and
 * promote members. Anyone may add or remove their own devices (a new phone, a lost laptop) and so
 * leave. A user left with no device in the group stops being an admin; when the last admin
 * leaves, the user of the earliest-joined remaining device becomes admin, so a group with
 * members always has one. A direct group never holds more than two users.
 */
import { deviceKey, ErrorCode, groupIdText, ParleyError, sameDevice, type DeviceRef, type GroupSummary, type RequestOf, type ResponseOf } from '@parley/protocol';
import type { MlsCheckedCommit } from '@parley/crypto';
import type { Logger } from '../logger.js';
import {
  StaleEpochError,
  StorageConflictError,
  StorageNotFoundError,
  type CommitResult,
  type DeviceRecord,
  type GroupCheck,
  type GroupLeaf,
  type GroupRecord,
  type NewCommit,
  type Storage,
} from '../storage/index.js';
import { checkCommit, checkGroupInfo, checkNewGroupInfo, matchMemberCommit, matchRejoin, verifiedCommit, welcomeRecipients, type LeafChanges } from './mls-checks.js';
import type { ConsentService } from './consent.js';
import type { Push } from './push.js';
import { groupSummary, logEntry, mailboxEntry } from './protocol-shapes.js';

const badRequest = (message: string) => new ParleyError(ErrorCode.BAD_REQUEST, message);
const staleEpoch = (epoch: number) =>
  new ParleyError(ErrorCode.STALE_EPOCH, `the group is at epoch ${epoch}; process the newer commits, then retry`, { epoch });
const notAMember = () => new ParleyError(ErrorCode.NOT_A_MEMBER, 'you are not a member of this group');

/** Membership of a device (send, commit) or of a user through any of its devices (read, rejoin). */
export function requireDevice(group: { members: readonly DeviceRef[] }, device: DeviceRef): void {
  if (!group.members.some((member) => sameDevice(member, device))) throw notAMember();
}
export function requireUser(group: { members: readonly DeviceRef[] }, username: string): void {
  if (!group.members.some((member) => member.username === username)) throw notAMember();
}

function distinct(devices: readonly DeviceRef[], field: string): void {
  const seen = new Set<string>();
  for (const device of devices) {
    if (seen.has(deviceKey(device))) throw badRequest(`${field} lists ${deviceKey(device)} twice`);
    seen.add(deviceKey(device));
  }
}

export interface GroupServiceOptions {
  deviceBacklogQuota?: number;
  /** Most devices one group may route (DESIGN §10 limits); a commit that would pass it is refused. */
  maxGroupDevices: number;
  /** Most groups one user may be in, which bounds everything listed per user (group.list, presence peers, cursors). */
  maxGroupsPerUser: number;
}

/**
 * Who may make a commit's declared routing change, against the group as it stands (run early,
 * and again inside the storage transaction): added devices are new to the group and active;
 * removed ones are routed; changes to other users' devices need an admin, except removing revoked
 * ones; a direct group keeps two users.
 */
function routingCheck(session: DeviceRef, body: { add: readonly DeviceRef[]; remove: readonly DeviceRef[] }, directory: ReadonlyMap<string, DeviceRecord>): GroupCheck {
  const revoked = (device: DeviceRef) => directory.get(deviceKey(device))?.revokedAt !== undefined || !directory.has(deviceKey(device));
  return (group) => {
    requireDevice(group, session);
    for (const device of body.add) {
      if (group.members.some((member) => sameDevice(member, device))) throw badRequest(`${deviceKey(device)} is already in the group`);
    }
    for (const device of body.remove) {
      if (!group.members.some((member) => sameDevice(member, device))) throw badRequest(`${deviceKey(device)} is not in the group`);
    }
    // Removing a revoked device is housekeeping any member may do (DESIGN §5: revocation re-keys).
    const touchesOthers = [...body.add, ...body.remove.filter((device) => !revoked(device))].some((device) => device.username !== session.username);
    if (touchesOthers && !group.admins.includes(session.username)) {
      throw new ParleyError(ErrorCode.FORBIDDEN, "only a group admin may add or remove other users' devices");
    }
    const inactive = body.add.filter(revoked);
    if (inactive.length > 0) throw badRequest(`not active devices of existing users: ${inactive.map(deviceKey).join(', ')}`);
    if (group.kind === 'direct') {
      const users = new Set([...group.members, ...body.add].filter((m) => !body.remove.some((r) => sameDevice(r, m))).map((m) => m.username));
      if (users.size > 2) throw badRequest('a direct conversation has two users; create a group for more');
    }
  };
}

export class GroupService {
  constructor(
    private readonly storage: Storage,
    private readonly consent: ConsentService,
    private readonly push: Push,
    private readonly log: Logger,
    private readonly options: GroupServiceOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async create(session: DeviceRef, body: RequestOf<'group.create'>): Promise<GroupSummary> {
    checkGroupInfo(body.groupInfo, body.groupId, 0);
    await this.requireRoom([session.username]);
    const device = await this.activeDevice(session);
    await checkNewGroupInfo(body.groupInfo, device.publicKey);
    try {
      const creatorLeaf = { leafIndex: 0, signatureKey: device.publicKey, device: session };
      const group = await this.storage.createGroup({ groupId: body.groupId, kind: body.kind, groupInfo: body.groupInfo, creator: session, creatorLeaf, createdAt: this.now() });
      this.log.info({ event: 'group.created', group: groupIdText(body.groupId), kind: body.kind }, 'group created');
      return groupSummary(group);
    } catch (error) {
      if (error instanceof StorageConflictError) throw badRequest('a group with this id exists; pick another random id');
      throw error;
    }
  }

  /**
   * A member's commit bundle. Cheapest checks first, so a stranger or a flood of made-up lists
   * costs a few queries: membership and epoch, the lists against what the group holds, then one
   * directory query for the devices named, the admin rule, and only then the MLS checks.
   */
  async commit(session: DeviceRef, body: RequestOf<'group.commit'>): Promise<ResponseOf<'group.commit'>> {
    distinct([...body.add, ...body.remove], 'add and remove together');
    if (body.add.length > 0 !== (body.welcome !== undefined)) {
      throw badRequest(body.welcome ? 'a Welcome needs the devices it adds in add' : 'a commit that adds devices needs their Welcome');
    }
    const group = await this.load(body.groupId);
    requireDevice(group, session);
    if (group.epoch !== body.epoch) throw staleEpoch(group.epoch);
    if (body.remove.length > group.members.length) throw badRequest(`remove lists ${body.remove.length} devices; the group has ${group.members.length}`);
    const size = group.members.length + body.add.length - body.remove.length;
    if (size > this.options.maxGroupDevices) throw badRequest(`a group holds at most ${this.options.maxGroupDevices} devices; this commit would make it ${size}`);
    checkCommit(body.commit, body.groupId, body.epoch, false);
    checkGroupInfo(body.groupInfo, body.groupId, body.epoch + 1);
    const welcome = body.welcome ? welcomeRecipients(body.welcome) : [];

    // No Welcome to a user who blocked the committer (DESIGN §6 consent).
    await this.consent.requireNotBlocked(session.username, body.add.map((device) => device.username));
    const directory = await this.directory([session, ...body.add, ...body.remove]);
    const check = routingCheck(session, body, directory);
    check(group);
    await this.requireRoom(body.add.map((device) => device.username).filter((username) => !group.members.some((member) => member.username === username)));
    const sessionDevice = directory.get(deviceKey(session));
    if (!sessionDevice || sessionDevice.revokedAt !== undefined) throw new ParleyError(ErrorCode.DEVICE_REVOKED, 'this device was revoked');
    const leaves = await this.checked(body, (checked, current) =>
      matchMemberCommit(checked, { leaves: current, session: sessionDevice, routed: group.members, directory }, { add: body.add, remove: body.remove, welcome }),
    );

    const result = await this.accept(
      { groupId: body.groupId, epoch: body.epoch, sender: session, commit: body.commit, groupInfo: body.groupInfo, createdAt: this.now(), add: body.add, remove: body.remove, leaves, welcome: body.welcome, backlogQuota: this.options.deviceBacklogQuota },
      check,
    );
    this.log.info(
      { event: 'group.commit', group: groupIdText(body.groupId), seq: result.entry.seq, epoch: result.epoch, added: body.add.length, removed: body.remove.length },
      'commit accepted',
    );
    // Added devices start after this commit (their Welcome is for the new epoch); removed ones still get it.
    const readers = [...result.members.filter((m) => !body.add.some((a) => sameDevice(a, m))), ...body.remove];
    await this.fanOut(result, session, readers);
    return { seq: result.entry.seq, epoch: result.epoch };
  }

  /** RFC 9420 §12.4.3.2 external commit by a device of a member user that lost its state, or is new. */
  async rejoin(session: DeviceRef, body: RequestOf<'group.rejoin'>): Promise<ResponseOf<'group.rejoin'>> {
    const group = await this.load(body.groupId);
    requireUser(group, session.username);
    if (group.epoch !== body.epoch) throw staleEpoch(group.epoch);
    checkCommit(body.commit, body.groupId, body.epoch, true);
    checkGroupInfo(body.groupInfo, body.groupId, body.epoch + 1);
    const device = await this.activeDevice(session);
    const leaves = await this.checked(body, (checked, current) => matchRejoin(checked, { leaves: current, session: device }));
    const result = await this.accept(
      { groupId: body.groupId, epoch: body.epoch, sender: session, commit: body.commit, groupInfo: body.groupInfo, createdAt: this.now(), add: [session], remove: [], leaves, backlogQuota: this.options.deviceBacklogQuota },
      (current) => requireUser(current, session.username),
    );
    this.log.info({ event: 'group.rejoin', group: groupIdText(body.groupId), seq: result.entry.seq, epoch: result.epoch }, 'external commit accepted');
    await this.fanOut(result, session, result.members);
    return { seq: result.entry.seq, epoch: result.epoch };
  }

  async info(session: DeviceRef, groupId: Uint8Array): Promise<ResponseOf<'group.info'>> {
    requireUser(await this.load(groupId), session.username);
    const info = await this.storage.getGroupInfo(groupId);
    if (!info) throw new ParleyError(ErrorCode.NOT_FOUND, 'no such group');
    return info;
  }

  async get(session: DeviceRef, groupId: Uint8Array): Promise<GroupSummary> {
    const group = await this.load(groupId);
    requireUser(group, session.username);
    return groupSummary(group);
  }

  async list(session: DeviceRef): Promise<ResponseOf<'group.list'>> {
    // The account's groups, not just this device's: a new device of the account joins them all.
    return { groups: (await this.storage.listUserGroups(session.username)).map(groupSummary) };
  }

  async promote(session: DeviceRef, body: RequestOf<'group.promote'>): Promise<GroupSummary> {
    const group = await this.load(body.groupId);
    requireUser(group, session.username);
    if (!group.admins.includes(session.username)) throw new ParleyError(ErrorCode.FORBIDDEN, 'only a group admin may promote members');
    if (!group.members.some((member) => member.username === body.username)) throw badRequest(`${body.username} is not a member of this group`);
    await this.storage.addAdmin(body.groupId, body.username);
    this.log.info({ event: 'group.promoted', group: groupIdText(body.groupId) }, 'member promoted');
    return groupSummary(await this.load(body.groupId));
  }

  /** Stop routing the group to all of this user's devices; the remaining members commit the removal. */
  async leave(session: DeviceRef, body: RequestOf<'group.leave'>): Promise<ResponseOf<'group.leave'>> {
    requireUser(await this.load(body.groupId), session.username);
    const { mailbox } = await this.storage.leaveGroup(body.groupId, session.username, this.now());
    this.log.info({ event: 'group.left', group: groupIdText(body.groupId), devices: mailbox.length }, 'member left');
    for (const record of mailbox) await this.push.toDevices([record.recipient], 'mailbox', mailboxEntry(record));
    return {};
  }

  private async load(groupId: Uint8Array): Promise<GroupRecord> {
    const group = await this.storage.getGroup(groupId);
    if (!group) throw new ParleyError(ErrorCode.NOT_FOUND, 'no such group');
    return group;
  }

  /** An active device of the session's account: the key its leaves must carry. */
  private async activeDevice(session: DeviceRef): Promise<DeviceRecord> {
    const device = await this.storage.getDevice(session.username, session.deviceId);
    if (!device || device.revokedAt !== undefined) throw new ParleyError(ErrorCode.DEVICE_REVOKED, 'this device was revoked');
    return device;
  }

  /** Each of `usernames` (joining a group) must be in fewer than maxGroupsPerUser groups. */
  private async requireRoom(usernames: readonly string[]): Promise<void> {
    const counts = await this.storage.countUserGroups([...new Set(usernames)]);
    const full = [...counts].filter(([, groups]) => groups >= this.options.maxGroupsPerUser).map(([username]) => username);
    if (full.length > 0) {
      throw badRequest(`${full.join(', ')} ${full.length === 1 ? 'is' : 'are'} in ${this.options.maxGroupsPerUser} groups, the most one user may be in; leaving one makes room`);
    }
  }

  /** The named devices' directory records, in one query, by `deviceKey`. */
  private async directory(devices: readonly DeviceRef[]): Promise<Map<string, DeviceRecord>> {
    return new Map((await this.storage.getDevices(devices)).map((device) => [deviceKey(device), device]));
  }

  /**
   * Verifies the commit against the group's stored GroupInfo and leaves, and `match`es what it
   * does to what may be stored. A verdict against it stands only if the group is still at the
   * commit's epoch; if another commit won meanwhile, the answer is STALE_EPOCH.
   */
  private async checked(body: RequestOf<'group.rejoin'>, match: (checked: MlsCheckedCommit, leaves: GroupLeaf[]) => LeafChanges): Promise<LeafChanges> {
    const current = await this.storage.getGroupInfo(body.groupId);
    if (!current) throw new ParleyError(ErrorCode.NOT_FOUND, 'no such group');
    if (current.epoch !== body.epoch) throw staleEpoch(current.epoch);
    const leaves = await this.storage.getGroupLeaves(body.groupId);
    try {
      return match(await verifiedCommit({ groupInfo: current.groupInfo, commit: body.commit, nextGroupInfo: body.groupInfo }), leaves);
    } catch (error) {
      const now = await this.storage.getGroupInfo(body.groupId);
      if (now && now.epoch !== body.epoch) throw staleEpoch(now.epoch);
      throw error;
    }
  }

  /** Stores the commit if its epoch is still current; `check` runs again on the locked group. */
  private async accept(commit: NewCommit, check: GroupCheck): Promise<CommitResult> {
    try {
      return await this.storage.acceptCommit(commit, check);
    } catch (error) {
      // RFC 9420 §14: another commit for this epoch won; the client catches up and retries.
      if (error instanceof StaleEpochError) throw staleEpoch(error.currentEpoch);
      if (error instanceof StorageNotFoundError) throw new ParleyError(ErrorCode.NOT_FOUND, 'no such group');
      throw error;
    }
  }

  private async fanOut(result: CommitResult, sender: DeviceRef, readers: readonly DeviceRef[]): Promise<void> {
    await this.push.toDevices(
      readers.filter((device) => !sameDevice(device, sender)),
      'message',
      logEntry(result.entry),
    );
    for (const record of result.mailbox) await this.push.toDevices([record.recipient], 'mailbox', mailboxEntry(record));
  }
}
