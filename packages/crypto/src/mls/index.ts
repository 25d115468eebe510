/**
 * @module Parley's MLS facade (RFC 9420) over ts-mls. Group state is opaque bytes: every operation
 * takes the stored state and returns the new state plus what to send, never mutating its inputs,
 * so callers persist transactionally. Pure and isomorphic: no I/O, no timers; the primitives come
 * from the installed crypto provider (or WebCrypto, see runtime.ts).
 */
export { MlsSuite, MlsKeyRetention } from './types.js';
export type {
  MlsAddOutput,
  MlsApplicationMessage,
  MlsCheckedCommit,
  MlsCommitOutput,
  MlsCommitProcessed,
  MlsFraming,
  MlsGeneratedKeyPackage,
  MlsGroupMetadata,
  MlsJoinOutput,
  MlsKeyPackageInfo,
  MlsKeyPackageOptions,
  MlsLeaf,
  MlsMember,
  MlsMemberInfo,
  MlsProcessed,
  ValidateCredential,
} from './types.js';
export { generateKeyPackage, keyPackageInfo } from './keyPackage.js';
export { addMembers, createGroup, exportGroupInfo, removeMembers, selfUpdate } from './group.js';
export { joinExternal, joinFromWelcome } from './join.js';
export { encrypt, processMessage } from './message.js';
export { groupMetadata, inspectMessage } from './inspect.js';
export { groupInfoLeaves, verifyGroupInfo, verifyPublicCommit } from './public-group.js';
