/**
 * Replaying a signed password change (issue #11 §6). Someone who saw one password change go by
 * (the signed record and backup) and who later holds a signed-in device and the current password
 * must not be able to put the old record back: the identity key signs a server nonce with it.
 */
import { MemoryProfileStore } from '@parley/client';
import { backupKeyFromExportKey, opaqueClient, opaqueReady, passwordChangeMessage, seal, sign } from '@parley/crypto';
import { encodeCbor } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDevice } from '../support/device.js';
import { connectClient, startTestServer, type TestServer } from '../support/harness.js';
import { openDeviceSession, requestSolving, type RawSession } from '../support/raw-requests.js';

const FIRST = 'the first password';
const SECOND = 'the second password';
const THIRD = 'the third password';

/** Proves `password` on `session`, then changes it to `next` by hand; returns the signed finish. */
async function changeByHand(session: RawSession, identityPrivateKey: Uint8Array, password: string, next: string) {
  const proof = opaqueClient.startLogin(password);
  const started = await requestSolving(session, 'password.verify.start', 'replay-victim', { request: proof.request });
  if (!started.ok) throw new Error(`verify.start: ${JSON.stringify(started)}`);
  const { finish } = opaqueClient.finishLogin(proof.state, password, 'replay-victim', started.body.response);
  const verified = await session.request('password.verify.finish', { finish });
  if (!verified.ok) throw new Error(`verify.finish: ${JSON.stringify(verified)}`);
  const registration = opaqueClient.startRegistration(next);
  const changing = await session.request('password.change.start', { request: registration.request });
  if (!changing.ok) throw new Error(`change.start: ${JSON.stringify(changing)}`);
  const { record, exportKey } = opaqueClient.finishRegistration(registration.state, next, 'replay-victim', changing.body.response);
  const backup = seal(backupKeyFromExportKey(exportKey), encodeCbor({ v: 1, identityPrivateKey }), 'parley/backup/v1/replay-victim');
  const signature = sign(identityPrivateKey, passwordChangeMessage('replay-victim', changing.body.nonce, record, backup));
  const body = { record, backup, signature };
  return { body, result: await session.request('password.change.finish', body) };
}

describe('password change replay', () => {
  let server: TestServer;
  const device = { phone: undefined as TestDevice | undefined };
  beforeAll(async () => {
    await opaqueReady;
    server = await startTestServer();
  });
  afterAll(async () => {
    device.phone?.close();
    await server.close();
  });

  it('refuses a signed change replayed after a fresh proof, and keeps the current password', async () => {
    const phone = new TestDevice(server);
    device.phone = phone;
    await (await phone.open()).register('replay-victim', FIRST);
    const secrets = await phone.profile.loadSecrets();
    if (!secrets) throw new Error('no secrets');
    const session = await openDeviceSession(server.url, phone.profile, '127.0.0.90');

    const seen = await changeByHand(session, secrets.identityPrivateKey, FIRST, SECOND);
    expect(seen.result).toMatchObject({ ok: true });
    expect((await changeByHand(session, secrets.identityPrivateKey, SECOND, THIRD)).result).toMatchObject({ ok: true });

    // The replayer proves the current password, then sends the change it saw go by.
    const proof = opaqueClient.startLogin(THIRD);
    const started = await requestSolving(session, 'password.verify.start', 'replay-victim', { request: proof.request });
    if (!started.ok) throw new Error('verify.start failed');
    const { finish } = opaqueClient.finishLogin(proof.state, THIRD, 'replay-victim', started.body.response);
    expect(await session.request('password.verify.finish', { finish })).toMatchObject({ ok: true });
    expect(await session.request('password.change.start', { request: opaqueClient.startRegistration('unused').request })).toMatchObject({ ok: true });
    expect(await session.request('password.change.finish', seen.body)).toMatchObject({ ok: false, error: { code: 'BAD_SIGNATURE' } });
    session.close();

    const login = async (password: string) => {
      const client = await connectClient(server, new MemoryProfileStore());
      try {
        return await client.login('replay-victim', password).then(
          () => 'ok',
          (error: { code: string }) => error.code,
        );
      } finally {
        client.close();
      }
    };
    expect(await login(SECOND)).toBe('AUTH_FAILED');
    expect(await login(THIRD)).toBe('ok');
  });
});
