/**
 * When the visitor's page tries to reconnect after its socket dropped, and when it gives up.
 *
 * - Backoff: attempts RECONNECT_DELAYS_MS after the drop (then every RECONNECT_EVERY_MS), until
 *   RECONNECT_GIVE_UP_MS have passed since the drop; the server keeps a session whose visitor is gone for its
 *   grace period (120 s by default), so trying longer would only find it ended.
 * - The browser knows when it is offline: `offline` is a drop at once (an existing socket may only stall in
 *   silence until TCP gives up, and meanwhile the page records into the outbox), and `online` tries at once
 *   instead of waiting for the next delay.
 * - Whether the server may have restarted, which matters because a restarted server lost its late-join log
 *   and needs a fresh snapshot rather than the frames it missed: the server said so (close 1012, a graceful
 *   restart), or an attempt could not even open while the browser was online, so the server was down (a cut
 *   of the visitor's own network makes the browser offline; a fault further away looks like a server that
 *   was down and costs only a snapshot that was not needed).
 */

/** Delays of the first attempts after a drop; later attempts follow every RECONNECT_EVERY_MS. */
export const RECONNECT_DELAYS_MS = [250, 500, 1000, 2000, 4000];
export const RECONNECT_EVERY_MS = 5000;
/** After this long without a connection the session ends with `conndrop` (the server's grace period). */
export const RECONNECT_GIVE_UP_MS = 120_000;

/** The close code of a graceful server shutdown or restart (RFC 6455 "service restart"). */
export const SERVICE_RESTART = 1012;

export interface ReconnectDeps {
  /** Opens a new socket (the session sends `resume` when it opens). */
  connect(): void;
  /** True while a socket is connecting or open. */
  connecting(): boolean;
  /** The connection is lost for good. */
  giveUp(): void;
  /** The browser went offline while the socket was live: treat it as a drop. */
  wentOffline(): void;
}

export class Reconnector {
  private droppedAt: number | null = null;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private restarted = false;

  constructor(private readonly deps: ReconnectDeps) {
    addEventListener("offline", () => {
      if (this.droppedAt === null) this.deps.wentOffline();
    });
    addEventListener("online", () => {
      if (this.droppedAt === null || this.deps.connecting()) return;
      this.clearTimer();
      this.deps.connect();
    });
  }

  /** True between a drop and the next successful connection. */
  get reconnecting(): boolean {
    return this.droppedAt !== null;
  }

  /** True if the server may have restarted since the drop (see above). */
  get serverMayHaveRestarted(): boolean {
    return this.restarted;
  }

  /**
   * The socket closed (a drop of a live connection, or a failed attempt): schedule the next attempt, or give
   * up. `opened`: the socket had opened; `code`: its close code.
   */
  closed(code: number, opened: boolean): void {
    const now = Date.now();
    if (this.droppedAt === null) {
      this.droppedAt = now;
      this.attempts = 0;
      this.restarted = false;
    }
    if (code === SERVICE_RESTART || (!opened && navigator.onLine)) this.restarted = true;
    if (now - this.droppedAt >= RECONNECT_GIVE_UP_MS) {
      this.reset();
      this.deps.giveUp();
      return;
    }
    const delay = RECONNECT_DELAYS_MS[this.attempts] ?? RECONNECT_EVERY_MS;
    this.attempts += 1;
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.droppedAt !== null && !this.deps.connecting()) this.deps.connect();
    }, delay);
  }

  /** Connected again (the server confirmed the session), or the session is over: forget the drop. */
  reset(): void {
    this.clearTimer();
    this.droppedAt = null;
    this.attempts = 0;
    this.restarted = false;
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
