/** @module Contact ops (DESIGN §6 consent): contacts, blocks, and the presence they gate. */
import { usernameSchema } from './identifiers.js';
import { empty, op, type OpSpec } from './op-parts.js';
import { array, object, optional, uint, type Infer } from './schema.js';

/** Most contacts and most blocked users one account keeps (LIMIT_REACHED beyond). */
export const MAX_CONTACTS = 5000;
export const MAX_BLOCKS = 1000;
/** My contacts and the users I block, sorted (DESIGN §6 consent). */
export const contactListsSchema = object({ contacts: array(usernameSchema, { max: MAX_CONTACTS }), blocked: array(usernameSchema, { max: MAX_BLOCKS }) });
export type ContactLists = Infer<typeof contactListsSchema>;

export const contactOps = {
  /**
   * Consent (DESIGN §6): my contacts and the users I block, kept by the server. Presence is shown
   * only between mutual contacts; a user I block cannot claim my KeyPackages, add me to a group or
   * write into a direct conversation with me (BLOCKED). Blocking also drops the contact.
   */
  'contacts.add': op(object({ username: usernameSchema }), empty),
  'contacts.remove': op(object({ username: usernameSchema }), empty),
  'contacts.block': op(object({ username: usernameSchema }), empty),
  'contacts.unblock': op(object({ username: usernameSchema }), empty),
  'contacts.list': op(empty, contactListsSchema),

  /** Online users visible to me: mutual contacts (or everyone on an open server), paged. */
  'presence.list': op(
    object({ after: optional(usernameSchema), limit: optional(uint({ max: 200 })) }),
    object({ users: array(usernameSchema, { max: 200 }), next: optional(usernameSchema) }),
  ),
} as const satisfies Record<string, OpSpec>;
