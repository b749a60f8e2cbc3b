/**
 * Which of the visitor's tabs carries the session: the `blur` and `focus` visitor events, and the page's
 * `focus` message that lets the server show agents the tab the visitor is looking at.
 *
 * Two things decide it, and the events follow both:
 * - the window: it loses the visitor (window `blur`, or the tab hidden: `visibilitychange`) or gets them back
 *   (window `focus`, or the tab shown). Each change is sent to the server (`focus` {focused}); after every
 *   `started` / `resumed` the state is sent only if the page is not focused (the server takes a new
 *   connection as focused: a page loads in the tab the visitor is using).
 * - the server: every page of the site in session connects, and the server shows agents one of them (the
 *   newest connection, then the one focused last). The others get `tab` {active: false}; the one shown next
 *   gets `tab` {active: true} (session.ts records and stops recording accordingly).
 *
 * The page carries the session while it is shown AND the visitor is on it; `blur` fires when that stops and
 * `focus` when it starts again. With one tab the server always shows it, so the events follow the window
 * alone (as sites written for one tab expect). While a session is active on the page (from `sessioncontinue`
 * to `sessionend`) each change fires one event, and `sessioncontinue` is followed by the current one (the
 * window's state then is its visibility), so a custom UI can style itself as `in_session_blurred` from the
 * start.
 */

import type { Emitter, VisitorEventMap } from "./events";

export interface TabFocusDeps {
  events: Emitter<VisitorEventMap>;
  /** Tells the server whether the visitor is on this page; false when the socket is not live. */
  send(focused: boolean): boolean;
}

export class TabFocus {
  /** The session is active on this page (events may fire). */
  private active = false;
  /** The visitor is on this window (last window focus/blur/visibility change). */
  private focused = document.visibilityState === "visible";
  /** The server shows this page to agents. */
  private shownHere = true;
  /** What the last event said (null: nothing fired yet on this page in this session). */
  private carrying: boolean | null = null;

  constructor(private readonly deps: TabFocusDeps) {
    addEventListener("blur", () => this.windowChanged(false));
    addEventListener("focus", () => this.windowChanged(true));
    document.addEventListener("visibilitychange", () => this.windowChanged(document.visibilityState === "visible"));
  }

  /** True while the server shows this page to agents. */
  get shown(): boolean {
    return this.shownHere;
  }

  /**
   * The session went live on a connection of this page (`started` / `resumed`): the server shows the newest
   * connection. `firstOnPage`: the session just started or continued here (`sessioncontinue` fired), so the
   * current state is fired afresh, after every listener of `statereceived` has run.
   */
  live(firstOnPage: boolean): void {
    this.shownHere = true;
    if (firstOnPage) {
      this.active = true;
      this.carrying = null;
      this.focused = document.visibilityState === "visible";
    }
    if (!this.focused) this.deps.send(false);
    if (firstOnPage) queueMicrotask(() => this.fire());
    else this.fire();
  }

  /** The server's `tab`: this page is shown to agents (true) or another tab is. */
  tab(shown: boolean): void {
    this.shownHere = shown;
    this.fire();
  }

  /** The session ended on this page. */
  ended(): void {
    this.active = false;
    this.carrying = null;
    this.shownHere = true;
  }

  private windowChanged(focused: boolean): void {
    if (focused === this.focused) return;
    this.focused = focused;
    if (!this.active) return;
    this.deps.send(focused);
    this.fire();
  }

  private fire(): void {
    if (!this.active) return;
    const carrying = this.shownHere && this.focused;
    if (carrying === this.carrying) return;
    this.carrying = carrying;
    this.deps.events.emit(carrying ? "focus" : "blur", {});
  }
}
