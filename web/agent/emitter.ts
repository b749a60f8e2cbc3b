/**
 * A small typed event emitter for the public agent API.
 *
 * Listener errors are caught and reported on the console so that one faulty listener (a page embedding the
 * console, a test) can never stop the console itself from processing the session's frames.
 */

export type Listener<T> = (data: T) => void;

export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(event: K, fn: Listener<Events[K]>): void {
    if (typeof fn !== "function") throw new TypeError("listener must be a function");
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(fn as Listener<never>);
  }

  off<K extends keyof Events>(event: K, fn: Listener<Events[K]>): void {
    this.listeners.get(event)?.delete(fn as Listener<never>);
  }

  emit<K extends keyof Events>(event: K, data: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of Array.from(set)) {
      try {
        (fn as Listener<Events[K]>)(data);
      } catch (err) {
        console.error(`cobrowse: a '${String(event)}' listener failed`, err);
      }
    }
  }
}
