/**
 * A small typed event emitter behind `GLANCE.Cobrowse.Visitor.addEventListener`.
 *
 * Why our own: the visitor API's listeners are site code. One listener that throws must not stop the others
 * nor break the SDK's state machine, so every call is isolated and its error only reported to the console.
 * Event names the SDK does not know yet (those of later features) are accepted, so a custom UI written
 * against the full product does not fail at `addEventListener`.
 */

import type { AgentsInfo } from "../shared/protocol";

/** `sessionend` reasons of the visitor API. */
export type SessionEndReason = "agent" | "visitor" | "error";

/** Remote control as the visitor's page sees it (the `rc` event, `getSessionState("rc")`). */
export interface RcEventPayload {
  /** The agent may click and type on the page. */
  enabled: boolean;
  /** The visitor's own input paused control for a moment. */
  suspended: boolean;
}

/** An agent asks for remote control (`rcrequested`): answer with accept() or decline(), once. */
export interface RcRequestedPayload {
  accept(): void;
  decline(): void;
  /** Always false: control covers the whole page (no selective control). */
  selective: boolean;
  /** The asking agent's name and number (as in the `agents` event). */
  name: string;
  num: number;
}

/** Payloads of the events this SDK fires (the visitor API's names). */
export interface VisitorEventMap {
  sessionstarting: Record<string, never>;
  sessionstart: { key: string; callid: number; random: boolean };
  sessioncontinue: { key: string; callid: number };
  statereceived: Record<string, never>;
  sessionend: { reason: SessionEndReason };
  error: { code: string; msg: string };
  agents: AgentsInfo;
  connection: { status: "reconnecting" | "ok" };
  /** Masking failed (hook error, bad descriptor or selector, timeout, guard): the page is masked or data dropped. */
  maskingerror: { reason: string };
  /** Which tab carries the session: this page lost / got it (visitor-api.ts, focus.ts). */
  blur: Record<string, never>;
  focus: Record<string, never>;
  /** Remote control turned on or off, or was suspended by the visitor's own input (remote-control.ts). */
  rc: RcEventPayload;
  rcrequested: RcRequestedPayload;
}

export type Listener<P> = (payload: P) => void;

export class Emitter<M extends object> {
  private readonly listeners = new Map<string, Set<Listener<never>>>();
  private readonly taps: ((name: string, payload: unknown) => void)[] = [];

  /** Hears every event, after its listeners (the relay to the site's listeners, site-events.ts). */
  tap(fn: (name: string, payload: unknown) => void): void {
    this.taps.push(fn);
  }

  on<K extends keyof M & string>(name: K, listener: Listener<M[K]>): void;
  on(name: string, listener: Listener<never>): void;
  on(name: string, listener: Listener<never>): void {
    if (typeof listener !== "function") {
      throw new TypeError(`addEventListener("${name}", listener): listener must be a function`);
    }
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener);
  }

  off(name: string, listener: Listener<never>): void {
    this.listeners.get(name)?.delete(listener);
  }

  /** Calls every listener of `name` with `payload`; a throwing listener is logged and skipped. */
  emit<K extends keyof M & string>(name: K, payload: M[K]): void {
    const set = this.listeners.get(name) ?? new Set<Listener<never>>();
    // Copy first: a listener may add or remove listeners while we iterate.
    for (const listener of Array.from(set)) {
      try {
        (listener as Listener<M[K]>)(payload);
      } catch (err) {
        console.error(`cobrowse: a "${name}" event listener threw`, err);
      }
    }
    for (const tap of this.taps) tap(name, payload);
  }
}
