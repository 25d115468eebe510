/**
 * @module What the screens call: the engine (engine.ts) with each action handed to the part that
 * does it. Loaded as its own chunk: it pulls in the SDK, crypto and OPAQUE's WASM.
 */
import { Engine, type ControllerOptions } from './engine.js';
import type { Actions, ChatMessage, DeviceView, GroupMembers, NotificationSettings, SafetyView, Selection } from './state.js';

export type { ControllerOptions } from './engine.js';

export class Controller extends Engine implements Actions {
  // --- account (account.ts)
  readonly register = (username: string, password: string): Promise<void> => this.account.register(username, password);
  readonly finishRegistration = (): Promise<void> => this.account.finishRegistration();
  readonly login = (username: string, password: string): Promise<void> => this.account.login(username, password);
  readonly recover = (username: string, recoveryKey: string, newPassword: string): Promise<void> => this.account.recover(username, recoveryKey, newPassword);
  readonly changePassword = (currentPassword: string, newPassword: string): Promise<void> => this.account.changePassword(currentPassword, newPassword);
  readonly devices = (): Promise<DeviceView[]> => this.account.devices();
  readonly trustNewServerKey = (): Promise<void> => this.account.trustNewServerKey(this.options.server);
  readonly revokeDevice = (deviceId: string): Promise<void> => this.account.revokeDevice(deviceId);

  // --- conversations, the outbox and time locks (conversations.ts, outbox.ts, timelocks.ts)
  readonly select = (selection: Selection): void => this.chats.select(selection);
  readonly startChat = (username: string): Promise<void> => this.chats.startChat(username);
  readonly send = (text: string, options?: { unlockAt?: number }): Promise<void> => this.chats.send(text, options);
  readonly openNow = (message: ChatMessage): Promise<void> => this.timelocks.openNow(message);
  readonly cancelOpen = (message: ChatMessage): void => this.timelocks.cancel(message);
  readonly retry = (message: ChatMessage): Promise<void> => this.chats.outbox.retry(message);
  readonly discard = (message: ChatMessage): Promise<void> => this.chats.outbox.discard(message);

  // --- history between my devices (history.ts)
  readonly sendHistory = (deviceId: string): Promise<void> => this.history.send(deviceId);
  readonly declineHistory = (deviceId: string): Promise<void> => this.history.decline(deviceId);
  readonly setAutoSendHistory = (on: boolean): Promise<void> => this.history.setAutoSend(on);

  // --- groups (groups.ts)
  readonly createGroup = (title: string, members: string[]): Promise<void> => this.groups.create(title, members);
  readonly groupMembers = (groupId: string): Promise<GroupMembers> => this.groups.members(groupId);
  readonly addMembers = (groupId: string, usernames: string[]): Promise<void> => this.groups.add(groupId, usernames);
  readonly removeMember = (groupId: string, username: string): Promise<void> => this.groups.remove(groupId, username);
  readonly leaveGroup = (groupId: string): Promise<void> => this.groups.leave(groupId);

  // --- message requests (requests.ts)
  readonly acceptRequest = (groupId: string): Promise<void> => this.requests.accept(groupId);
  readonly declineRequest = (groupId: string): Promise<void> => this.requests.decline(groupId);
  readonly blockUser = (username: string): Promise<void> => this.requests.block(username);

  // --- notifications (notifications.ts)
  readonly setNotifications = (change: Partial<Pick<NotificationSettings, 'enabled' | 'showText'>>): Promise<void> => this.notifier.setNotifications(change);
  readonly declineNotifications = (): void => this.notifier.decline();

  // --- safety numbers and presence (safety.ts, presence.ts)
  readonly safety = (username: string): Promise<SafetyView> => this.trust.view(username);
  readonly markVerified = (username: string, options?: { trustNewKey?: boolean }): Promise<SafetyView> => this.trust.markVerified(username, options);
  readonly refreshOnline = (): Promise<void> => this.presence.refresh();

  // --- direct sessions (direct.ts)
  readonly goDirect = (peer: string): Promise<void> => this.chats.direct.go(peer);
  readonly answerDirect = (peer: string, accept: boolean): void => this.chats.direct.answer(peer, accept);
  readonly endDirect = (peer: string): Promise<void> => this.chats.direct.end(peer);
}

export function createController(options: ControllerOptions): Controller {
  return new Controller(options);
}
