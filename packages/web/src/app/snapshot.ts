/**
 * @module The snapshot of what to show: one immutable AppState, replaced by every change, that
 * React reads with useSyncExternalStore and every part of the engine reads and changes.
 */
import { initialState, type AppState } from './state.js';

export type Patch = Partial<AppState> | ((state: AppState) => Partial<AppState>);

export class Snapshot {
  protected state: AppState = initialState;
  private readonly listeners = new Set<() => void>();
  /** What every part reads and changes. */
  protected readonly view = { state: () => this.state, set: (patch: Patch) => this.set(patch) };

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): AppState => this.state;

  protected set(patch: Patch): void {
    this.state = { ...this.state, ...(typeof patch === 'function' ? patch(this.state) : patch) };
    for (const listener of this.listeners) listener();
  }
}
