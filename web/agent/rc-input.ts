/**
 * The agent's mouse and keyboard over the replay, turned into remote-control commands (remote.ts).
 *
 * The replay iframe takes no pointer events (and runs no scripts), so a transparent overlay covers the view,
 * shown only while remote control is enabled and the agent holds `remote_control` (`permit`): outside control
 * the agent can do nothing on the page and nothing is sent, and when control ends (the visitor's Stop, a decline, a release, the session's end) the
 * overlay goes at once. While the visitor's own input suspends control the overlay stays (keeping focus) but
 * sends nothing.
 *
 * - Mouse: moves (at most one per MOVE_MS, the last position always sent) => `move`; a click => `click` at
 *   the node under the pointer (rc-address.ts); a double click => `dblclick`; the wheel => `scroll` of the
 *   node under the pointer (steps coalesced over WHEEL_MS); a drag => `selecttext` from the caret position
 *   where it started to the one where it ended; a click on a select => the console's own popup (rc-select.ts)
 *   and, on a choice, `select`.
 * - Keyboard: the overlay is focusable and takes focus on a click; a key => `key` for the element last
 *   clicked (a form control, or the control of a clicked label; otherwise 0: the visitor's focused element),
 *   with `preventDefault` so that Tab and friends stay on the visitor's page. A paste => `text`. Pure
 *   modifier keys, dead keys and IME composition are not sent.
 */

import type { ControlCommand } from "./api";
import type { AgentClient } from "./client";
import { ReplayAddress, type ReplayTarget } from "./rc-address";
import { SelectPopup, readOptions, replaySelect } from "./rc-select";
import type { Viewer } from "./viewer";

const MOVE_MS = 50;
const WHEEL_MS = 30;
/** A press that moved further than this (console pixels) is a drag (text selection), not a click. */
const DRAG_PX = 4;
const LINE_PX = 16;
const NOT_SENT_KEYS = new Set(["Shift", "Control", "Alt", "Meta", "AltGraph", "CapsLock", "Fn", "FnLock", "Hyper",
  "Super", "OS", "NumLock", "ScrollLock", "Dead", "Unidentified", "Process", "Compose"]);
const FOCUSABLE = new Set(["input", "textarea", "select", "button", "a", "summary", "iframe"]);

/** The element keys should go to after a click on `el`: itself, the control of a label, or none (0). */
function keyTarget(el: Element, idOf: (node: Node) => number): number {
  const label = el.closest("label");
  if (label && !FOCUSABLE.has(el.localName)) {
    const forId = label.getAttribute("for");
    const control = forId ? label.ownerDocument.getElementById(forId) : label.querySelector("input, select, textarea");
    if (control) return Math.max(0, idOf(control));
  }
  const focusable = el.closest("input, textarea, select, button, a[href], summary, [tabindex], [contenteditable]");
  if (focusable && focusable.getAttribute("contenteditable") !== "false") return Math.max(0, idOf(focusable));
  return 0;
}

export class RemoteInput {
  readonly overlay: HTMLDivElement;
  private readonly address: ReplayAddress;
  private readonly popup = new SelectPopup();
  private moveTimer: ReturnType<typeof setTimeout> | null = null;
  private lastMoveAt = -Infinity;
  private movePoint: { x: number; y: number } | null = null;
  private wheel: { id: number; dx: number; dy: number } | null = null;
  private press: { x: number; y: number } | null = null;
  private dragged = false;
  private keyId = 0;
  private permitted = false;

  constructor(
    private readonly client: AgentClient,
    private readonly viewer: Viewer,
  ) {
    this.address = new ReplayAddress(viewer);
    const overlay = document.createElement("div");
    overlay.className = "cb-rc-overlay";
    overlay.id = "cb-rc-overlay";
    overlay.tabIndex = 0;
    overlay.setAttribute("aria-label", "The visitor's page (you have remote control)");
    overlay.hidden = true;
    // Layout inline, so pages embedding the console get a working overlay without the console's stylesheet.
    Object.assign(overlay.style, { position: "absolute", inset: "0", zIndex: "3", outline: "none" });
    this.overlay = overlay;
    viewer.hostElement.appendChild(overlay);

    overlay.addEventListener("mousemove", (ev) => this.onMove(ev));
    overlay.addEventListener("mousedown", (ev) => this.onDown(ev));
    overlay.addEventListener("mouseup", (ev) => this.onUp(ev));
    overlay.addEventListener("click", (ev) => this.onClick(ev));
    overlay.addEventListener("dblclick", (ev) => this.onDoubleClick(ev));
    overlay.addEventListener("contextmenu", (ev) => ev.preventDefault());
    overlay.addEventListener("wheel", (ev) => this.onWheel(ev), { passive: false });
    overlay.addEventListener("keydown", (ev) => this.onKey(ev));
    overlay.addEventListener("paste", (ev) => this.onPaste(ev));

    client.events.on("rc", () => this.update());
    client.events.on("events", ({ snapshot }) => {
      if (!snapshot) return;
      // a new recording: node ids of the last one mean nothing now
      this.keyId = 0;
      this.popup.close();
      if (overlay.parentNode !== viewer.hostElement) viewer.hostElement.appendChild(overlay);
    });
    this.update();
  }

  /** Whether this agent holds `remote_control` (`/api/v1/me`); without it the view never takes input. */
  permit(permitted: boolean): void {
    this.permitted = permitted;
    this.update();
  }

  /** Shows the overlay while control is enabled; drops everything pending when it is not. */
  private update(): void {
    const rc = this.client.rc.state;
    const on = rc.enabled && this.permitted;
    this.overlay.hidden = !on;
    this.overlay.dataset.suspended = String(rc.suspended);
    if (on) return;
    this.popup.close();
    if (this.moveTimer !== null) clearTimeout(this.moveTimer);
    this.moveTimer = null;
    this.movePoint = null;
    this.wheel = null;
    this.press = null;
    this.keyId = 0;
  }

  /** Sends one command if control is active now; a refusal or a dropped connection loses it (see remote.ts). */
  private send(cmd: ControlCommand): void {
    if (!this.client.rc.active) return;
    try {
      this.client.control(cmd);
    } catch {
      // not joined, reconnecting, or no view: the command has no meaning any more
    }
  }

  private at(ev: MouseEvent): ReplayTarget | null {
    return this.address.target(ev.clientX, ev.clientY);
  }

  private onMove(ev: MouseEvent): void {
    this.movePoint = { x: ev.clientX, y: ev.clientY };
    if (this.moveTimer !== null) return;
    const wait = Math.max(0, this.lastMoveAt + MOVE_MS - performance.now());
    this.moveTimer = setTimeout(() => {
      this.moveTimer = null;
      const point = this.movePoint;
      this.movePoint = null;
      if (!point) return;
      this.lastMoveAt = performance.now();
      const target = this.address.target(point.x, point.y);
      if (target) this.send({ op: "move", id: target.id, x: target.x, y: target.y });
    }, wait);
  }

  private onDown(ev: MouseEvent): void {
    if (ev.button !== 0) return;
    ev.preventDefault(); // no text selection in the console; focus is taken explicitly
    this.overlay.focus({ preventScroll: true });
    this.press = { x: ev.clientX, y: ev.clientY };
    this.dragged = false;
  }

  private onUp(ev: MouseEvent): void {
    const press = this.press;
    this.press = null;
    if (ev.button !== 0 || !press) return;
    this.dragged = Math.hypot(ev.clientX - press.x, ev.clientY - press.y) > DRAG_PX;
    if (!this.dragged) return;
    const start = this.address.caret(press.x, press.y);
    const end = this.address.caret(ev.clientX, ev.clientY);
    if (start && end) {
      this.send({ op: "selecttext", id: start.id, offset: start.offset, end_id: end.id, end_offset: end.offset });
    }
  }

  private onClick(ev: MouseEvent): void {
    if (ev.button !== 0) return;
    if (this.dragged) {
      this.dragged = false;
      return;
    }
    if (ev.detail >= 2) return; // the second click of a double click: `dblclick` follows
    const target = this.at(ev);
    if (!target) return;
    this.keyId = keyTarget(target.element, (node) => this.viewer.nodeId(node));
    const select = replaySelect(target.element);
    const options = select ? readOptions(select) : [];
    const selectId = select ? this.viewer.nodeId(select) : -1;
    if (select && options.length && selectId > 0 && !(select as unknown as { multiple?: boolean }).multiple) {
      this.send({ op: "focus", id: selectId });
      const anchor = this.address.screenRect({ ...target, element: select });
      this.popup.open(
        anchor,
        options,
        (option) => this.send({ op: "select", id: selectId, index: option.index, text: option.value }),
        () => {
          if (!this.overlay.hidden) this.overlay.focus({ preventScroll: true });
        },
      );
      return;
    }
    this.send({ op: "click", id: target.id, x: target.x, y: target.y });
  }

  private onDoubleClick(ev: MouseEvent): void {
    const target = this.at(ev);
    if (target) this.send({ op: "dblclick", id: target.id, x: target.x, y: target.y });
  }

  private onWheel(ev: WheelEvent): void {
    ev.preventDefault();
    const unit = ev.deltaMode === 1 ? LINE_PX : ev.deltaMode === 2 ? this.overlay.clientHeight || 400 : 1;
    if (!this.wheel) {
      const target = this.at(ev);
      this.wheel = { id: target?.id ?? 0, dx: 0, dy: 0 };
      setTimeout(() => {
        const step = this.wheel;
        this.wheel = null;
        if (step && (step.dx || step.dy)) this.send({ op: "scroll", id: step.id, dx: step.dx, dy: step.dy });
      }, WHEEL_MS);
    }
    this.wheel.dx += ev.deltaX * unit;
    this.wheel.dy += ev.deltaY * unit;
  }

  private onKey(ev: KeyboardEvent): void {
    if (ev.isComposing || NOT_SENT_KEYS.has(ev.key) || !ev.key) return;
    if ((ev.ctrlKey || ev.metaKey) && !ev.altKey && ev.key.toLowerCase() === "v") return; // the paste follows
    ev.preventDefault();
    this.send({ op: "key", id: this.keyId, key: ev.key, shift: ev.shiftKey, ctrl: ev.ctrlKey, alt: ev.altKey, meta: ev.metaKey });
    if (ev.key === "Tab") this.keyId = 0; // focus moved on the visitor's page: keys follow it there
  }

  private onPaste(ev: ClipboardEvent): void {
    ev.preventDefault();
    const text = ev.clipboardData?.getData("text/plain") ?? "";
    if (text) this.send({ op: "text", id: this.keyId, text });
  }
}
