/** @module A messenger context over a scripted requester and an in-memory store, for unit tests. */
import { fakeRequester, type Answers, type FakeRequester } from '../connection/fake-requester.testkit.js';
import { MemoryClientStore } from '../store/memory-client-store.js';
import { AuthenticationService } from '../trust/authentication-service.js';
import { Directory } from '../trust/directory.js';
import { withoutProof, type TestUser } from '../trust/test-user.testkit.js';
import { Contacts } from './contacts.js';
import type { MessengerContext } from './context.js';
import type { ConversationEvent } from './events.js';
import { GroupSummaries } from './group-summaries.js';

export { testUser, type TestUser } from '../trust/test-user.testkit.js';

export interface TestContext {
  ctx: MessengerContext;
  requester: FakeRequester;
  store: MemoryClientStore;
  events: ConversationEvent[];
}

export function testContext(me: TestUser, answers: Answers): TestContext {
  const requester = fakeRequester(answers);
  const store = new MemoryClientStore();
  // The key log's checks have their own tests (trust/key-log.test.ts); here every answer is trusted.
  const directory = new Directory(async (username) => withoutProof(await requester.request('directory.lookup', { username })), store);
  const events: ConversationEvent[] = [];
  const ctx: MessengerContext = {
    request: requester.request,
    store,
    self: me.device,
    member: me.member,
    directory,
    authentication: new AuthenticationService(directory),
    groups: new GroupSummaries(requester.request, store),
    contacts: new Contacts(requester.request, store),
    emit: (event) => events.push(event),
  };
  return { ctx, requester, store, events };
}
