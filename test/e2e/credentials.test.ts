/** Password change and recovery (DESIGN §5) against a real server, through the SDK and by hand. */
import {
  backupKeyFromExportKey,
  channelAuthMessage,
  generateRecoveryKey,
  generateSigningKeyPair,
  opaqueClient,
  openKeyBackup,
  passwordChangeMessage,
  recoveryKeys,
  recoveryMessage,
  sealKeyBackup,
  sign,
  signingKeyPairFromSeed,
} from '@parley/crypto';
import { Connection, websocketUrl, type ProfileStore } from '@parley/client';
import { nodeSocketFactory } from '@parley/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';

const OLD = 'the original password';
const NEW = 'a brand new password';
const RESET = 'set with the recovery key';

describe('password change and recovery', () => {
  let server: TestServer;
  const devices: TestDevice[] = [];
  const connections: Connection[] = [];

  async function device(): Promise<TestDevice> {
    const created = new TestDevice(server);
    devices.push(created);
    return created;
  }
  async function registered(username: string, password = OLD): Promise<{ device: TestDevice; recoveryKey: string }> {
    const phone = await device();
    const { recoveryKey } = await (await phone.open()).register(username, password, { deviceName: `${username}-phone` });
    return { device: phone, recoveryKey };
  }
  /** A bare connection, for driving ops by hand. */
  async function connection(): Promise<Connection> {
    const opened = await Connection.open(websocketUrl(server.url), { socketFactory: nodeSocketFactory, verifyServerKey: () => undefined });
    connections.push(opened);
    return opened;
  }
  /** A bare connection signed in as the device saved in `profile`. */
  async function deviceConnection(profile: ProfileStore): Promise<Connection> {
    const { account } = await profile.load();
    const secrets = await profile.loadSecrets();
    if (!account || !secrets) throw new Error('profile is not logged in');
    const opened = await connection();
    const signature = sign(secrets.devicePrivateKey, channelAuthMessage(opened.handshakeHash, account.username, account.deviceId));
    await opened.request('device.auth', { username: account.username, deviceId: account.deviceId, signature });
    return opened;
  }
  /** An OPAQUE login by hand: what a new device gets, including the export key only the client knows. */
  async function rawLogin(username: string, password: string) {
    const link = await connection();
    const start = opaqueClient.startLogin(password);
    const { response } = await link.request('login.start', { username, request: start.request });
    const finished = opaqueClient.finishLogin(start.state, password, username, response);
    const { identityKey, backup } = await link.request('login.finish', { finish: finished.finish });
    link.close();
    return { exportKey: finished.exportKey, identityKey, backup };
  }
  const opensWith = (exportKey: Uint8Array, backup: Uint8Array, username: string) => {
    return signingKeyPairFromSeed(openKeyBackup(backupKeyFromExportKey(exportKey), backup, username).identityPrivateKey).publicKey;
  };
  async function loginFails(username: string, password: string): Promise<void> {
    await expect((await (await device()).open()).login(username, password)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  }

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const each of devices) each.close();
    for (const each of connections) each.close();
    await server.close();
  });

  it('passwd: the old password stops working, the new one works, other devices stay signed in', async () => {
    const { device: phone } = await registered('alice');
    const laptop = await device();
    await (await laptop.open()).login('alice', OLD, { deviceName: 'laptop' });
    const before = await rawLogin('alice', OLD);
    const laptopLive = await laptop.open();

    await (await phone.open()).changePassword(OLD, NEW);

    await loginFails('alice', OLD);
    const tablet = await device();
    await expect((await tablet.open()).login('alice', NEW)).resolves.toMatchObject({ username: 'alice' });
    // The laptop's open connection and a fresh one both still work.
    await expect(laptopLive.whoami()).resolves.toMatchObject({ username: 'alice' });
    laptop.close();
    const laptopAgain = await laptop.open();
    expect((await laptopAgain.whoami()).identityKey).toEqual(before.identityKey);

    // The key backup now opens with the new password's export key only.
    await expect(rawLogin('alice', OLD)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    const after = await rawLogin('alice', NEW);
    expect(after.backup).not.toEqual(before.backup);
    expect(opensWith(after.exportKey, after.backup, 'alice')).toEqual(before.identityKey);
    expect(() => opensWith(before.exportKey, after.backup, 'alice')).toThrow(expect.objectContaining({ code: 'SEAL_FAILED' }));
    expect(opensWith(before.exportKey, before.backup, 'alice')).toEqual(before.identityKey);

    // Conversations carry on: the identity key and device certificates did not change.
    const { device: bob } = await registered('bob');
    await (await laptopAgain.messenger()).sendDirect('bob', 'after the password change');
    expect(await bob.receive()).toEqual(['alice: after the password change']);
  });

  it('passwd with a wrong current password fails with AUTH_FAILED and changes nothing', async () => {
    const { device: phone } = await registered('carol');
    await expect((await phone.open()).changePassword('not the password', NEW)).rejects.toMatchObject({ code: 'AUTH_FAILED', message: 'wrong password' });
    await expect((await phone.open()).changePassword(OLD, 'short')).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await loginFails('carol', NEW);
    await expect((await (await device()).open()).login('carol', OLD)).resolves.toMatchObject({ username: 'carol' });
  });

  it('a change needs a fresh proof on the same connection, the identity key signature, and is one-shot', async () => {
    const { device: phone } = await registered('dave');
    const secrets = await phone.profile.loadSecrets();
    if (!secrets) throw new Error('no secrets');

    const anonymous = await connection();
    await expect(anonymous.request('password.verify.start', { request: opaqueClient.startLogin(OLD).request })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

    const link = await deviceConnection(phone.profile);
    const registration = opaqueClient.startRegistration(NEW);
    await expect(link.request('password.change.start', { request: registration.request })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const fakeFinish = { record: new Uint8Array(192).fill(1), backup: new Uint8Array(97).fill(2), signature: new Uint8Array(64) };
    await expect(link.request('password.change.finish', fakeFinish)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

    // A proof made on another connection does not count on this one.
    const other = await deviceConnection(phone.profile);
    const proof = await prove(other, 'dave', OLD);
    await expect(link.request('password.change.start', { request: registration.request })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

    // With a proof, a change signed by some other key is refused, and uses up the proof.
    const { response, nonce } = await other.request('password.change.start', { request: registration.request });
    const { record, exportKey } = opaqueClient.finishRegistration(registration.state, NEW, 'dave', response);
    const backup = sealKeyBackup(backupKeyFromExportKey(exportKey), proof.plaintext, 'dave');
    const forged = sign(generateSigningKeyPair().privateKey, passwordChangeMessage('dave', nonce, record, backup));
    await expect(other.request('password.change.finish', { record, backup, signature: forged })).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    const signature = sign(secrets.identityPrivateKey, passwordChangeMessage('dave', nonce, record, backup));
    await expect(other.request('password.change.finish', { record, backup, signature })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await loginFails('dave', NEW);

    // A fresh proof, then the properly signed change: accepted once; replaying it needs a new proof.
    await prove(other, 'dave', OLD);
    const again = opaqueClient.startRegistration(NEW);
    const second = await other.request('password.change.start', { request: again.request });
    const next = opaqueClient.finishRegistration(again.state, NEW, 'dave', second.response);
    const nextBackup = sealKeyBackup(backupKeyFromExportKey(next.exportKey), proof.plaintext, 'dave');
    const nextSignature = sign(secrets.identityPrivateKey, passwordChangeMessage('dave', second.nonce, next.record, nextBackup));
    await expect(other.request('password.change.finish', { record: next.record, backup: nextBackup, signature: nextSignature })).resolves.toEqual({});
    await expect(other.request('password.change.finish', { record: next.record, backup: nextBackup, signature: nextSignature })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await loginFails('dave', OLD);
    await expect((await (await device()).open()).login('dave', NEW)).resolves.toMatchObject({ username: 'dave' });

    // A proof that does not verify gets AUTH_FAILED from the server, leaves nothing behind, and
    // each start allows one finish.
    const honest = opaqueClient.startLogin(NEW);
    const { response: honestResponse } = await other.request('password.verify.start', { request: honest.request });
    const { finish } = opaqueClient.finishLogin(honest.state, NEW, 'dave', honestResponse);
    await expect(other.request('password.verify.finish', { finish: new Uint8Array(finish).fill(7) })).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    await expect(other.request('password.verify.finish', { finish })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(other.request('password.change.start', { request: again.request })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('recover: a new password with the recovery key keeps the identity and the conversations', async () => {
    const { device: phone, recoveryKey } = await registered('erin');
    const { device: frank } = await registered('frank');
    await (await frank.messenger()).sendDirect('erin', 'before the loss');
    expect(await phone.receive()).toEqual(['frank: before the loss']);
    expect(await phone.acceptRequests()).toEqual(['frank']);
    const identityKey = (await (await phone.open()).whoami()).identityKey;
    phone.close(); // the phone is lost, and the password forgotten

    const replacement = await device();
    const session = await (await replacement.open()).recover('Erin', recoveryKey, RESET, { deviceName: 'replacement' });
    expect(session.username).toBe('erin');
    const me = await (await replacement.open()).whoami();
    expect(me).toMatchObject({ username: 'erin', deviceId: session.deviceId });
    expect(me.identityKey).toEqual(identityKey);
    expect((await (await replacement.open()).devices()).map((d) => [d.name, d.current])).toEqual([
      ['erin-phone', false],
      ['replacement', true],
    ]);

    await loginFails('erin', OLD);
    const laptop = await device();
    await expect((await laptop.open()).login('erin', RESET)).resolves.toMatchObject({ username: 'erin' });
    const { exportKey, backup } = await rawLogin('erin', RESET);
    expect(opensWith(exportKey, backup, 'erin')).toEqual(identityKey);

    // A new conversation reaches the recovered device; so does the old one with frank.
    const { device: gina } = await registered('gina');
    await (await gina.messenger()).sendDirect('erin', 'hello after recovery');
    expect(await replacement.receive()).toEqual(['gina: hello after recovery']);
    await (await replacement.messenger()).sendDirect('gina', 'hi gina');
    expect(await gina.receive()).toEqual(['erin: hi gina']);

    // The conversation with frank from before the loss: the new device joins it on its first sync.
    await (await frank.messenger()).sendDirect('erin', 'after the recovery');
    expect(await replacement.receive()).toContain('frank: after the recovery');
    await (await replacement.messenger()).sendDirect('frank', 'still here');
    expect(await frank.receive()).toEqual(['erin: still here']);

    // The recovery key still works (the recovery backup was left as it was).
    const again = await device();
    await expect((await again.open()).recover('erin', recoveryKey, NEW)).resolves.toMatchObject({ username: 'erin' });
  });

  it('recover: a wrong recovery key and an unknown user get the same AUTH_FAILED, and look alike on the wire', async () => {
    const { recoveryKey } = await registered('heidi');
    const attempt = async (username: string, key: string) => (await (await device()).open()).recover(username, key, RESET);
    await expect(attempt('heidi', generateRecoveryKey())).rejects.toMatchObject({ code: 'AUTH_FAILED', message: 'the recovery key does not match' });
    await expect(attempt('nobody-at-all', recoveryKey)).rejects.toMatchObject({ code: 'AUTH_FAILED', message: 'the recovery key does not match' });
    await expect(attempt('heidi', 'not a key')).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect((await (await device()).open()).login('heidi', OLD)).resolves.toMatchObject({ username: 'heidi' });

    // A real account and an unknown name answer with the same sizes, and the same bytes when asked twice.
    const ask = async (username: string) => (await connection()).request('recover.start', { username, request: opaqueClient.startRegistration(RESET).request });
    const [real, realAgain, fake, fakeAgain] = [await ask('heidi'), await ask('heidi'), await ask('nobody-at-all'), await ask('nobody-at-all')];
    const sizes = (answer: typeof real) => [answer.response.byteLength, answer.identityKey.byteLength, answer.recoveryBackup.byteLength, answer.nonce.byteLength];
    expect(sizes(fake)).toEqual(sizes(real));
    expect(realAgain.recoveryBackup).toEqual(real.recoveryBackup);
    expect(fakeAgain.recoveryBackup).toEqual(fake.recoveryBackup);
    expect(fakeAgain.identityKey).toEqual(fake.identityKey);
    expect(fakeAgain.nonce).not.toEqual(fake.nonce);
  });

  it('recover.finish: out of order, forged, replayed or for another nonce gets a clear error and changes nothing', async () => {
    const { recoveryKey } = await registered('ivan');
    const finishFor = async (link: Connection, username: string, key = recoveryKey) => {
      const registration = opaqueClient.startRegistration(RESET);
      const start = await link.request('recover.start', { username, request: registration.request });
      const recovery = recoveryKeys(key);
      const { plaintext } = openKeyBackup(recovery.sealKey, start.recoveryBackup, username);
      const { record, exportKey } = opaqueClient.finishRegistration(registration.state, RESET, username, start.response);
      const backup = sealKeyBackup(backupKeyFromExportKey(exportKey), plaintext, username);
      return { record, backup, signature: sign(recovery.signing.privateKey, recoveryMessage(username, start.nonce, record, backup)) };
    };

    const link = await connection();
    await expect(link.request('recover.finish', { record: new Uint8Array(192), backup: new Uint8Array(97), signature: new Uint8Array(64) })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('must follow recover.start'),
    });
    // Signed for an earlier start's nonce: refused, and the later start is used up.
    const stale = await finishFor(link, 'ivan');
    await finishFor(link, 'ivan');
    await expect(link.request('recover.finish', stale)).rejects.toMatchObject({ code: 'AUTH_FAILED', message: 'the recovery key does not match' });
    // A forged signature.
    const good = await finishFor(link, 'ivan');
    await expect(link.request('recover.finish', { ...good, signature: new Uint8Array(good.signature).fill(9) })).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    await expect(link.request('recover.finish', good)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    // Garbage that fails the schema.
    await expect(link.request('recover.finish', { record: new Uint8Array(0), backup: new Uint8Array(97), signature: new Uint8Array(3) })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect((await (await device()).open()).login('ivan', OLD)).resolves.toMatchObject({ username: 'ivan' });

    // The real thing: accepted once, then the connection may only enrol a device; a replay is refused.
    const winner = await finishFor(link, 'ivan');
    await expect(link.request('recover.finish', winner)).resolves.toEqual({});
    await expect(link.request('account.whoami', {})).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(link.request('recover.finish', winner)).rejects.toMatchObject({ code: 'ALREADY_AUTHENTICATED' });
    const replay = await connection();
    await expect(replay.request('recover.finish', winner)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await loginFails('ivan', OLD);
    await expect((await (await device()).open()).login('ivan', RESET)).resolves.toMatchObject({ username: 'ivan' });
  });
});

/** Prove the current password on `link` by hand; returns the key backup's plaintext. */
async function prove(link: Connection, username: string, password: string): Promise<{ plaintext: Uint8Array }> {
  const start = opaqueClient.startLogin(password);
  const { response } = await link.request('password.verify.start', { request: start.request });
  const finished = opaqueClient.finishLogin(start.state, password, username, response);
  const { backup } = await link.request('password.verify.finish', { finish: finished.finish });
  return { plaintext: openKeyBackup(backupKeyFromExportKey(finished.exportKey), backup, username).plaintext };
}
