/** Consent conformance (DESIGN §6): contacts, mutual contacts and blocks, the same on every Storage adapter. */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from './types.js';

const bytes = (length: number) => new Uint8Array(length).fill(1);

export function runConsentConformance(storage: () => Storage): void {
  describe('consent', () => {
    beforeEach(async () => {
      for (const username of ['alice', 'bob', 'carol', 'dave']) {
        await storage().createAccount(
          { username, identityKey: bytes(32), recoveryKey: bytes(32), opaqueRecord: bytes(192), backup: bytes(80), recoveryBackup: bytes(80), createdAt: 1 },
          { username, deviceId: `${username}-d1`, name: 'phone', publicKey: bytes(32), certificate: bytes(64), createdAt: 1 },
        );
      }
    });

    it('keeps contacts once each, lists and counts them, and removes them', async () => {
      const s = storage();
      expect(await s.addContact('alice', 'carol', 1)).toBe(true);
      expect(await s.addContact('alice', 'bob', 2)).toBe(true);
      expect(await s.addContact('alice', 'bob', 3)).toBe(false);
      expect(await s.listContacts('alice')).toEqual(['bob', 'carol']);
      expect(await s.countContacts('alice')).toBe(2);
      expect(await s.listContacts('bob')).toEqual([]);
      expect(await s.removeContact('alice', 'carol')).toBe(true);
      expect(await s.removeContact('alice', 'carol')).toBe(false);
      expect(await s.listContacts('alice')).toEqual(['bob']);
    });

    it('finds mutual contacts only where both sides have the other', async () => {
      const s = storage();
      await s.addContact('alice', 'bob', 1);
      await s.addContact('alice', 'carol', 1);
      await s.addContact('bob', 'alice', 1);
      await s.addContact('dave', 'alice', 1); // one-sided: dave added alice, she did not add him
      expect(await s.listMutualContacts('alice')).toEqual(['bob']);
      expect(await s.listMutualContacts('bob')).toEqual(['alice']);
      expect(await s.listMutualContacts('dave')).toEqual([]);
      expect(await s.areMutualContacts('alice', 'bob')).toBe(true);
      expect(await s.areMutualContacts('bob', 'alice')).toBe(true);
      expect(await s.areMutualContacts('alice', 'carol')).toBe(false);
      expect(await s.areMutualContacts('alice', 'dave')).toBe(false);
      expect(await s.areMutualContacts('alice', 'alice')).toBe(false);
    });

    it('blocks a user, dropping the contact with it, and unblocks', async () => {
      const s = storage();
      await s.addContact('alice', 'bob', 1);
      await s.addContact('bob', 'alice', 1);
      expect(await s.addBlock('alice', 'bob', 2)).toBe(true);
      expect(await s.addBlock('alice', 'bob', 3)).toBe(false);
      expect(await s.listContacts('alice')).toEqual([]);
      expect(await s.listContacts('bob')).toEqual(['alice']); // his list is his
      expect(await s.areMutualContacts('alice', 'bob')).toBe(false);
      expect(await s.listBlocked('alice')).toEqual(['bob']);
      expect(await s.countBlocked('alice')).toBe(1);
      await s.addBlock('carol', 'bob', 4);
      expect(await s.listBlockers('bob')).toEqual(['alice', 'carol']);
      expect(await s.listBlockers('bob', ['carol', 'dave'])).toEqual(['carol']);
      expect(await s.listBlockers('bob', [])).toEqual([]);
      expect(await s.listBlockers('alice')).toEqual([]);
      expect(await s.removeBlock('alice', 'bob')).toBe(true);
      expect(await s.removeBlock('alice', 'bob')).toBe(false);
      expect(await s.listBlocked('alice')).toEqual([]);
      expect(await s.listBlockers('bob')).toEqual(['carol']);
    });
  });
}
