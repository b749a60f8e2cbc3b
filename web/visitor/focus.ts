/**
 * The `blur` and `focus` visitor events: whether this tab is the one carrying the session.
 *
 * The product fires them as the session moves between the visitor's tabs. On one page that means: the page
 * lost the visitor (window `blur`, or the tab hidden: `visibilitychange`) or got them back (window `focus`, or
 * the tab shown). While a session is active on the page (from `sessioncontinue` to `sessionend`) each change
 * fires one event, and `sessioncontinue` fires the current one, so a custom UI can style itself as
 * `in_session_blurred` from the start. Following the session across several tabs is the multi-tab feature's.
 */

import type { Emitter, VisitorEventMap } from "./events";

export class FocusTracker {
  private active = false;
  private focused: boolean | null = null;

  constructor(private readonly events: Emitter<VisitorEventMap>) {
    addEventListener("blur", () => this.change(false));
    addEventListener("focus", () => this.change(true));
    document.addEventListener("visibilitychange", () => this.change(document.visibilityState === "visible"));
    events.on("sessioncontinue", () => {
      this.active = true;
      this.focused = null;
      // After `sessioncontinue` has reached every listener (and `statereceived` with it), not in between.
      queueMicrotask(() => this.change(document.visibilityState === "visible"));
    });
    events.on("sessionend", () => {
      this.active = false;
      this.focused = null;
    });
  }

  private change(focused: boolean): void {
    if (!this.active || focused === this.focused) return;
    this.focused = focused;
    this.events.emit(focused ? "focus" : "blur", {});
  }
}
