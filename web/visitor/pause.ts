/**
 * Pausing the session: `Visitor.pauseSession({pause, message})`, `Visitor.isSessionPaused()` and the script
 * tag's `data-startpaused="1"`.
 *
 * While paused nothing of the page goes out: the recording is stopped (not buffered) and whatever it had
 * recorded but not yet sent is dropped after one last flush, so the agents keep the last view they had, frozen,
 * covered by the message. Unpausing starts a new recording, so the agents get a full update (a new epoch).
 * `pause` {pause, message} goes to the server, which tells the agents (and every agent who joins later).
 *
 * A pause belongs to the page, not to the session: it ends when the visitor navigates (the server clears it
 * when the next page connects) unless the next page has `data-startpaused`; a pause set before a session
 * starts applies to a session started on this page; after a reconnect the pause is sent again (a new
 * connection clears the server's copy). With `data-startpaused` the page is held from the first moment, so no
 * `events` frame leaves the page before `pauseSession({pause: false})`.
 *
 * The message is HTML text; the console sanitises it (web/agent/sanitize.ts), the SDK only checks its type and
 * length (at most MAX_PAUSE_MESSAGE characters).
 */

import type { PauseMsg } from "../shared/protocol";
import { MAX_PAUSE_MESSAGE, msg } from "../shared/protocol";
import { VisitorError } from "./keys";
import type { SessionClient } from "./session";

export interface PauseParams {
  pause: boolean;
  message?: string | null;
}

const KNOWN = new Set(["pause", "message"]);

/** True for the script tag's `data-startpaused` values that mean "on": `1`, `true`, `yes` (or `true`). */
export function startPausedSetting(value: unknown): boolean {
  if (value === true || value === 1) return true;
  return typeof value === "string" && ["1", "true", "yes"].includes(value.trim().toLowerCase());
}

function check(params: unknown): { pause: boolean; message: string | null } {
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    throw new VisitorError("invalidparams", "cobrowse: pauseSession takes an object: {pause: true|false, message}");
  }
  for (const key of Object.keys(params)) {
    if (!KNOWN.has(key)) {
      throw new VisitorError("invalidparams", `cobrowse: unknown pauseSession option "${key}" (known: pause, message)`);
    }
  }
  const p = params as Record<string, unknown>;
  if (typeof p.pause !== "boolean") {
    throw new VisitorError("invalidparams", "cobrowse: pauseSession option \"pause\" must be true or false");
  }
  const message = p.message;
  if (message !== undefined && message !== null && typeof message !== "string") {
    throw new VisitorError("invalidparams", "cobrowse: pauseSession option \"message\" must be a string of HTML");
  }
  if (typeof message === "string" && message.length > MAX_PAUSE_MESSAGE) {
    throw new VisitorError(
      "invalidparams",
      `cobrowse: pauseSession option "message" is ${message.length} characters; at most ${MAX_PAUSE_MESSAGE} allowed`,
    );
  }
  return { pause: p.pause, message: p.pause && typeof message === "string" && message !== "" ? message : null };
}

export class PauseControl {
  private paused = false;
  private message: string | null = null;

  constructor(
    private readonly session: SessionClient,
    startPaused: boolean,
  ) {
    if (startPaused) {
      this.paused = true;
      session.holdCapture();
    }
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** pauseSession(params): validated first; the page's state changes only when the params are valid. */
  set(params: unknown): void {
    const { pause, message } = check(params);
    if (pause) {
      this.session.holdCapture();
      this.paused = true;
      this.message = message;
      this.session.sendControl(this.stateMessage());
    } else {
      const was = this.paused;
      this.paused = false;
      this.message = null;
      this.session.sendControl(this.stateMessage());
      if (was) this.session.releaseCapture();
    }
  }

  /** The session was confirmed on this page (a new connection clears the server's pause): say it again. */
  onStarted(): void {
    if (this.paused) this.session.sendControl(this.stateMessage());
  }

  private stateMessage(): PauseMsg {
    return msg<PauseMsg>({ t: "pause", pause: this.paused, message: this.message });
  }
}
