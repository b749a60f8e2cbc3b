/**
 * User state: `Visitor.setUserState(name, data)` stores a named JSON value on the session (on the server),
 * `Visitor.getUserState(name)` reads it back, on this page and on every later page of the session.
 *
 * The server keeps the values for the session's life and hands them to each new page in `started` /
 * `resumed`; they are loaded here before `statereceived` fires, which is why a page that was just navigated
 * to reads user state after `statereceived`. A value set while the page is not connected is kept locally at
 * once and sent when the session is confirmed on this page (it then wins over the server's copy).
 *
 * Limits (the server's, checked here first): names 1 to 100 characters, values plain JSON of at most 64 KiB,
 * at most MAX_USER_STATES names per session. Values are stored as JSON text, so what `getUserState` returns
 * is always a fresh copy.
 */

import type { UserStateMsg } from "../shared/protocol";
import { MAX_USER_STATES, msg } from "../shared/protocol";
import { VisitorError } from "./keys";
import { checkNamed } from "./messages";
import type { SessionClient } from "./session";

export class UserState {
  /** name -> JSON text, as the session holds it (as far as this page knows). */
  private values = new Map<string, string>();
  /** Set on this page but not sent yet: name -> JSON text. */
  private unsent = new Map<string, string>();

  constructor(private readonly session: SessionClient) {}

  set(name: unknown, data: unknown): void {
    const json = checkNamed("setUserState", name, data, "data");
    const key = name as string;
    if (!this.values.has(key) && this.values.size >= MAX_USER_STATES) {
      throw new VisitorError(
        "badstate",
        `cobrowse: setUserState: a session keeps at most ${MAX_USER_STATES} user states; reuse a name`,
      );
    }
    this.values.set(key, json);
    this.unsent.set(key, json);
    this.flush();
  }

  /** The stored value (a copy), or undefined when nothing is stored under `name`. */
  get(name: unknown): unknown {
    if (typeof name !== "string") {
      throw new VisitorError("invalidparams", "cobrowse: getUserState: the name must be a string");
    }
    const json = this.values.get(name);
    return json === undefined ? undefined : JSON.parse(json);
  }

  /** The session's user state from `started` / `resumed`, with what this page set meanwhile on top. */
  load(fromServer: Record<string, unknown> | undefined): void {
    const values = new Map<string, string>();
    if (fromServer && typeof fromServer === "object") {
      for (const [name, data] of Object.entries(fromServer)) values.set(name, JSON.stringify(data));
    }
    for (const [name, json] of this.unsent) values.set(name, json);
    this.values = values;
    this.flush();
  }

  /** Forgets everything (the session ended). */
  clear(): void {
    this.values.clear();
    this.unsent.clear();
  }

  private flush(): void {
    for (const [name, json] of Array.from(this.unsent)) {
      const message = msg<UserStateMsg>({ t: "userstate", name, data: JSON.parse(json) });
      if (!this.session.sendControl(message)) return;
      this.unsent.delete(name);
    }
  }
}
