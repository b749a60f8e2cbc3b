/**
 * `Visitor.getSessionState(eventName [, identifier])`: what the most recent event of that name carried
 * (`agents`, `rc`, `connection`, `blur`/`focus`, `screenshare`, ...), or null when it has not occurred.
 *
 * It listens to every event of the internal emitter (so it is current even while a custom UI's events are
 * held), keeps a copy of each event's payload per name, and per name and identifier for events whose payload
 * names a view (`screenshare`'s `screenshareView`, as in `getSessionState("screenshare", "glance_screenshare")`).
 * What it returns is a fresh copy. It forgets everything when a session starts or ends, so a new session never
 * reports the last one's agents.
 */

import type { Emitter, VisitorEventMap } from "./events";

/** Payload fields that name the view an event is about (the optional identifier). */
const IDENTIFIER_FIELDS = ["screenshareView", "identifier"];

function copy(value: unknown): unknown {
  try {
    return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
  } catch {
    return null;
  }
}

export class SessionStateStore {
  private readonly last = new Map<string, unknown>();

  constructor(events: Emitter<VisitorEventMap>) {
    events.tap((name, payload) => this.record(name, payload));
  }

  get(eventName: string, identifier?: string): unknown {
    const key = identifier === undefined ? eventName : `${eventName}\u0000${identifier}`;
    return this.last.has(key) ? copy(this.last.get(key)) : null;
  }

  clear(): void {
    this.last.clear();
  }

  private record(name: string, payload: unknown): void {
    if (name === "sessionstarting") this.clear();
    const stored = copy(payload) ?? {};
    this.last.set(name, stored);
    if (typeof payload === "object" && payload !== null) {
      for (const field of IDENTIFIER_FIELDS) {
        const id = (payload as Record<string, unknown>)[field];
        if (typeof id === "string") this.last.set(`${name}\u0000${id}`, stored);
      }
    }
  }
}
