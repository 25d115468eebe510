/** @module Modal dialogs: new chat, new group, and a group's members (add and remove for admins). */
import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { Actions, AppState, GroupMembers } from '../app/state.js';
import { parseUsernames } from './format.js';
import { useAction } from './hooks.js';

/**
 * A native modal <dialog>: focus is trapped and Escape closes it. Closed, it gives the focus back
 * to what had it (the button that opened it), unless what follows takes it (a new chat's composer).
 */
export function Modal({ title, onClose, children }: { title: string; onClose(): void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      dialog?.close();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

export function ErrorLine({ error }: { error: string | undefined }) {
  return error ? (
    <p role="alert" className="error">
      {error}
    </p>
  ) : null;
}

export function NewChatDialog({ actions, onClose, onStarted }: { actions: Actions; onClose(): void; onStarted(): void }) {
  const [username, setUsername] = useState('');
  const { busy, error, run } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await run(() => actions.startChat(username))) {
      onStarted();
      onClose();
    }
  };
  return (
    <Modal title="New chat" onClose={onClose}>
      <form onSubmit={(event) => void submit(event)}>
        <label>
          Username
          <input autoFocus autoCapitalize="none" spellCheck={false} required value={username} onChange={(event) => setUsername(event.target.value)} />
        </label>
        <ErrorLine error={error} />
        <div className="row end">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            Start chat
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function NewGroupDialog({ actions, onClose, onCreated }: { actions: Actions; onClose(): void; onCreated(): void }) {
  const [title, setTitle] = useState('');
  const [members, setMembers] = useState('');
  const { busy, error, run } = useAction();
  const hintId = useId();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await run(() => actions.createGroup(title, parseUsernames(members)))) {
      onCreated();
      onClose();
    }
  };
  return (
    <Modal title="New group" onClose={onClose}>
      <form onSubmit={(event) => void submit(event)}>
        <label>
          Title
          <input autoFocus required maxLength={100} value={title} onChange={(event) => setTitle(event.target.value)} />
        </label>
        <label>
          Members
          <input autoCapitalize="none" spellCheck={false} aria-describedby={hintId} value={members} onChange={(event) => setMembers(event.target.value)} />
        </label>
        <p id={hintId} className="hint">
          Usernames, separated by commas. You can add more later.
        </p>
        <ErrorLine error={error} />
        {busy && (
          <p role="status" className="hint">
            Creating the group and its keys…
          </p>
        )}
        <div className="row end">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            Create group
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function MembersDialog({ state, actions, groupId, name, onClose }: { state: AppState; actions: Actions; groupId: string; name: string; onClose(): void }) {
  const [group, setGroup] = useState<GroupMembers>();
  const [username, setUsername] = useState('');
  const [confirmLeave, setConfirmLeave] = useState(false);
  const load = useAction();
  const change = useAction();
  const me = state.me?.username ?? '';

  const { run: runLoad } = load;
  const reload = useCallback(() => runLoad(async () => setGroup(await actions.groupMembers(groupId))), [runLoad, actions, groupId]);
  useEffect(() => {
    void reload();
  }, [reload]);

  const isAdmin = group ? group.admins.includes(me) || group.createdBy === me : false;

  const add = async (event: FormEvent) => {
    event.preventDefault();
    const users = parseUsernames(username);
    if (users.length === 0) return;
    if (await change.run(() => actions.addMembers(groupId, users))) {
      setUsername('');
      await reload();
    }
  };

  const remove = async (user: string) => {
    if (await change.run(() => actions.removeMember(groupId, user))) await reload();
  };

  const leave = async () => {
    if (await change.run(() => actions.leaveGroup(groupId))) onClose();
  };

  return (
    <Modal title={`Members of ${name}`} onClose={onClose}>
      <ErrorLine error={load.error} />
      {!group && !load.error && <p className="hint">Loading…</p>}
      {group && (
        <ul className="members" aria-label="Members">
          {group.members.map((member) => (
            <li key={member}>
              <span>
                {member}
                {member === me && ' (you)'}
                {(group.admins.includes(member) || group.createdBy === member) && <span className="tag">admin</span>}
              </span>
              {isAdmin && member !== me && (
                <button type="button" className="link danger" disabled={change.busy} aria-label={`Remove ${member}`} onClick={() => void remove(member)}>
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {isAdmin ? (
        <form onSubmit={(event) => void add(event)}>
          <label>
            Username
            <input autoCapitalize="none" spellCheck={false} value={username} onChange={(event) => setUsername(event.target.value)} />
          </label>
          <div className="row end">
            <button type="submit" disabled={change.busy || username.trim().length === 0}>
              Add member
            </button>
          </div>
        </form>
      ) : (
        group && <p className="hint">Only admins can add or remove members.</p>
      )}
      <ErrorLine error={change.error} />
      {change.busy && (
        <p role="status" className="hint">
          Updating the group’s keys…
        </p>
      )}
      {confirmLeave ? (
        <div className="row end" role="group" aria-label="Leave the group?">
          <span className="grow">Leave {name}? You will no longer get its messages.</span>
          <button type="button" className="danger" disabled={change.busy} onClick={() => void leave()}>
            Leave
          </button>
          <button type="button" className="secondary" onClick={() => setConfirmLeave(false)}>
            Stay
          </button>
        </div>
      ) : (
        <div className="row end">
          <button type="button" className="link danger" onClick={() => setConfirmLeave(true)}>
            Leave group
          </button>
          <span className="grow" />
          <button type="button" className="secondary" onClick={onClose}>
            Close
          </button>
        </div>
      )}
    </Modal>
  );
}
