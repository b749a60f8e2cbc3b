/**
 * Applies one remote-control command (`control`, docs/protocol.md "Remote control") to the visitor's page.
 *
 * remote-control.ts decides whether control is on at all; here each command is checked against the page
 * before it acts, and dropped (a console.debug line, nothing thrown into the page) unless every check holds:
 * - it is well formed (a command is data from the network: every field's type is checked);
 * - its node resolves in the recorder's mirror for an epoch of the current recording (session.recordedNode),
 *   and belongs to this page's own document (rc-guard.ts);
 * - the node, and for typing the focused element, is not masked or marked `glance_norc`; a click activates
 *   nothing that runs code (`javascript:` links and form actions) and opens no file picker.
 * Then it acts as the visitor's browser would: pointer and mouse events at the point the agent chose (the
 * fractions `x`, `y` of the node's box), the browser's default actions for keys (rc-keys.ts), typing through
 * the native value setter (rc-editing.ts), `selectedIndex` with `input` and `change`, scrolling, selection.
 * All events are synthetic (`isTrusted` false), which is also how remote-control.ts tells them from the
 * visitor's own input.
 */

import type { ControlMsg, ControlOp } from "../shared/protocol";
import { clickRefusal, elementOf, inThisDocument, isProtected, isShown } from "./rc-guard";
import { insertText, isTextField, setSelection } from "./rc-editing";
import { deepActiveElement, pressKey, scrollFrom } from "./rc-keys";

const OPS = new Set<ControlOp>(["move", "click", "dblclick", "focus", "key", "text", "select", "scroll", "selecttext"]);

export interface CommandDeps {
  /** True if `epoch` was sent by the current recording (its node ids are valid). */
  current(epoch: number): boolean;
  /** The node of the current recording numbered `id`, if `epoch` is one it sent (session.recordedNode). */
  node(id: number, epoch: number): Node | null;
  /** True when masking hides `el` from the agents (or the page's rules are not known). */
  hides(el: Element): boolean;
  /** Shows the agent's pointer at this viewport point. */
  pointer(x: number, y: number): void;
}

/** A command whose fields all have the right types, else null (a malformed command is ignored). */
export function parseControl(raw: unknown): ControlMsg | null {
  if (typeof raw !== "object" || raw === null) return null;
  const m = raw as Record<string, unknown>;
  const ints = ["epoch", "id", "index", "offset", "end_id", "end_offset", "agent"];
  const numbers = ["x", "y", "dx", "dy"];
  const flags = ["shift", "ctrl", "alt", "meta"];
  if (!OPS.has(m.op as ControlOp)) return null;
  if (!ints.every((k) => Number.isSafeInteger(m[k]))) return null;
  if (!numbers.every((k) => typeof m[k] === "number" && Number.isFinite(m[k]))) return null;
  if (!flags.every((k) => typeof m[k] === "boolean")) return null;
  if (typeof m.key !== "string" || typeof m.text !== "string") return null;
  return raw as ControlMsg;
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

/** The viewport point at fractions (x, y) of `node`'s box (a text node: of its text's box). */
function pointIn(node: Node, x: number, y: number): { x: number; y: number } {
  let rect: DOMRect;
  if (node.nodeType === Node.TEXT_NODE) {
    const range = document.createRange();
    range.selectNodeContents(node);
    rect = range.getBoundingClientRect();
  } else {
    rect = (node as Element).getBoundingClientRect();
  }
  return { x: rect.left + clamp01(x) * rect.width, y: rect.top + clamp01(y) * rect.height };
}

function refuse(cmd: ControlMsg, why: string): void {
  console.debug(`cobrowse: remote control: ${cmd.op} dropped: ${why}`);
}

/** Focusable as a click would focus it: an enabled control, a link, tabindex, contenteditable. */
function isFocusable(el: Element): el is HTMLElement {
  if (!(el instanceof HTMLElement) || (el as HTMLInputElement).disabled) return false;
  return el.tabIndex >= 0 || el.hasAttribute("tabindex") || el.isContentEditable;
}

/** What a mouse press focuses: the nearest focusable element up from `el`; null: nothing (the body). */
function focusTargetOf(el: Element): HTMLElement | null {
  for (let n: Element | null = el; n; n = n.parentElement ?? ((n.getRootNode() as ShadowRoot).host ?? null)) {
    if (isFocusable(n)) return n;
  }
  return null;
}

export class CommandRunner {
  /** The element the agent's pointer is over (for pointerover / mouseover only when it changes). */
  private hovered: Element | null = null;
  /** What the agent last clicked: keys go there when nothing has the focus (arrows scroll its container). */
  private clicked: Element | null = null;

  constructor(private readonly deps: CommandDeps) {}

  /** Applies `cmd` if every check holds; never throws. */
  apply(cmd: ControlMsg): void {
    try {
      this.run(cmd);
    } catch (error) {
      console.debug("cobrowse: remote control: command failed", error);
    }
  }

  private run(cmd: ControlMsg): void {
    if (!this.deps.current(cmd.epoch)) return refuse(cmd, `epoch ${cmd.epoch} is not of the current recording`);
    const node = cmd.id > 0 ? this.deps.node(cmd.id, cmd.epoch) : null;
    if (cmd.id > 0 && (!node || !inThisDocument(node))) return refuse(cmd, "no such node in the current recording");
    if (cmd.id === 0 && !["key", "text", "scroll"].includes(cmd.op)) return refuse(cmd, "no node");
    switch (cmd.op) {
      case "move":
        if (node) this.showPointer(node, cmd);
        return;
      case "click":
      case "dblclick":
        return this.click(node as Node, cmd);
      case "focus":
        return this.focus(node as Node, cmd);
      case "key":
      case "text":
        return this.type(node, cmd);
      case "select":
        return this.select(node as Node, cmd);
      case "scroll":
        if (node && isProtected(node, this.deps.hides)) return refuse(cmd, "masked or glance_norc");
        scrollFrom(node, cmd.dx, cmd.dy);
        return;
      case "selecttext":
        return this.selectText(node as Node, cmd);
    }
  }

  private showPointer(node: Node, cmd: ControlMsg): { x: number; y: number } {
    const at = pointIn(node, cmd.x, cmd.y);
    this.deps.pointer(at.x, at.y);
    return at;
  }

  private click(node: Node, cmd: ControlMsg): void {
    const el = elementOf(node);
    if (!el) return refuse(cmd, "not an element");
    const why = clickRefusal(el, this.deps.hides) ?? (isShown(el) ? null : "the element is not shown");
    if (why) return refuse(cmd, why);
    const at = this.showPointer(node, cmd);
    this.clicked = el;
    // A double click reaches the console as a `click` (the first press) and then a `dblclick`, the way a
    // browser reports it: so `dblclick` is the second press (detail 2) and the `dblclick` event only.
    this.pointerClick(el, at, cmd.op === "dblclick" ? 2 : 1);
    if (cmd.op === "dblclick" && el.isConnected) {
      el.dispatchEvent(new MouseEvent("dblclick", this.mouseInit(at, { detail: 2, button: 0, buttons: 0 })));
    }
  }

  /** Clicks `el` at its centre, with every check (rc-keys.ts: Enter / Space on buttons and links). */
  clickElement(el: Element): boolean {
    if (clickRefusal(el, this.deps.hides) || !isShown(el)) return false;
    const rect = el.getBoundingClientRect();
    this.pointerClick(el, { x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 }, 1);
    return true;
  }

  private mouseInit(at: { x: number; y: number }, extra: { detail: number; button: number; buttons: number }): PointerEventInit {
    return {
      bubbles: true, cancelable: true, composed: true, view: window, clientX: at.x, clientY: at.y,
      screenX: at.x + screenX, screenY: at.y + screenY, pointerId: 1, pointerType: "mouse", isPrimary: true,
      ...extra,
    };
  }

  /** One press and release at `at`: the pointer and mouse events, the focus a press gives, then `click`. */
  private pointerClick(el: Element, at: { x: number; y: number }, detail: number): void {
    const init = (button: number, buttons: number): PointerEventInit => this.mouseInit(at, { detail, button, buttons });
    if (this.hovered !== el) {
      this.hovered = el;
      el.dispatchEvent(new PointerEvent("pointerover", init(-1, 0)));
      el.dispatchEvent(new PointerEvent("pointerenter", { ...init(-1, 0), bubbles: false, cancelable: false }));
      el.dispatchEvent(new MouseEvent("mouseover", init(0, 0)));
      el.dispatchEvent(new MouseEvent("mouseenter", { ...init(0, 0), bubbles: false, cancelable: false }));
    }
    el.dispatchEvent(new PointerEvent("pointermove", init(-1, 0)));
    el.dispatchEvent(new MouseEvent("mousemove", init(0, 0)));
    // A cancelled pointerdown suppresses the compatibility mouse events (but not the click).
    const mouse = el.dispatchEvent(new PointerEvent("pointerdown", init(0, 1)));
    const pressed = mouse ? el.dispatchEvent(new MouseEvent("mousedown", init(0, 1))) : true;
    if (pressed) this.focusOnPress(el);
    el.dispatchEvent(new PointerEvent("pointerup", init(0, 0)));
    if (mouse) el.dispatchEvent(new MouseEvent("mouseup", init(0, 0)));
    if (el.isConnected) el.dispatchEvent(new MouseEvent("click", init(0, 0)));
  }

  /** A mouse press focuses the nearest focusable element, or takes the focus away (so `change` fires). */
  private focusOnPress(el: Element): void {
    const target = focusTargetOf(el);
    if (target) {
      if (deepActiveElement() !== target) target.focus({ preventScroll: true });
    } else {
      const active = deepActiveElement();
      if (active instanceof HTMLElement) active.blur();
    }
  }

  private focus(node: Node, cmd: ControlMsg): void {
    const el = elementOf(node);
    if (!el || !isFocusable(el)) return refuse(cmd, "not focusable");
    if (isProtected(el, this.deps.hides)) return refuse(cmd, "masked or glance_norc");
    el.focus({ preventScroll: true });
  }

  /**
   * `key` and `text` go to the element the agent named (focused first if it is not) or, for id 0, to the
   * focused element; neither may be masked.
   */
  private type(node: Node | null, cmd: ControlMsg): void {
    const named = node ? elementOf(node) : null;
    if (named && isProtected(named, this.deps.hides)) return refuse(cmd, "masked or glance_norc");
    if (named && isFocusable(named) && deepActiveElement() !== named) named.focus({ preventScroll: true });
    const clicked = this.clicked?.isConnected ? this.clicked : null;
    const target = deepActiveElement() ?? named ?? clicked ?? document.body;
    if (!target || !inThisDocument(target) || isProtected(target, this.deps.hides)) {
      return refuse(cmd, "the focused element is masked or glance_norc");
    }
    if (cmd.op === "key") {
      if (cmd.key === "" || cmd.key.length > 32) return refuse(cmd, "no key");
      pressKey(target, cmd, { hides: this.deps.hides, click: (el) => this.clickElement(el) });
    } else if (isTextField(target)) {
      insertText(target, cmd.text, "insertFromPaste");
    } else if (target instanceof HTMLElement && target.isContentEditable) {
      document.execCommand("insertText", false, cmd.text);
    } else {
      refuse(cmd, "the focused element takes no text");
    }
  }

  private select(node: Node, cmd: ControlMsg): void {
    const el = elementOf(node);
    if (!(el instanceof HTMLSelectElement) || el.disabled) return refuse(cmd, "not an enabled select");
    if (isProtected(el, this.deps.hides)) return refuse(cmd, "masked or glance_norc");
    const options = Array.from(el.options);
    const index = cmd.index >= 0 ? cmd.index : options.findIndex((o) => o.value === cmd.text);
    const option = options[index];
    if (!option || option.disabled) return refuse(cmd, "no such option");
    if (deepActiveElement() !== el) el.focus({ preventScroll: true });
    if (el.selectedIndex === index) return;
    el.selectedIndex = index;
    el.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  /** Selects text from (id, offset) to (end_id, end_offset); inside one field, its characters. */
  private selectText(start: Node, cmd: ControlMsg): void {
    const end = cmd.end_id > 0 ? this.deps.node(cmd.end_id, cmd.epoch) : start;
    if (!end || !inThisDocument(end)) return refuse(cmd, "no such end node");
    if (isProtected(start, this.deps.hides) || isProtected(end, this.deps.hides)) return refuse(cmd, "masked or glance_norc");
    const field = elementOf(start);
    if (start === end && isTextField(field)) {
      if (deepActiveElement() !== field) field.focus({ preventScroll: true });
      const length = field.value.length;
      const [a, b] = [Math.min(cmd.offset, length), Math.min(cmd.end_offset, length)];
      setSelection(field, Math.min(a, b), Math.max(a, b));
      return;
    }
    const limit = (n: Node): number =>
      n.nodeType === Node.TEXT_NODE || n.nodeType === Node.CDATA_SECTION_NODE ? (n as CharacterData).length : n.childNodes.length;
    document.getSelection()?.setBaseAndExtent(start, Math.min(cmd.offset, limit(start)), end, Math.min(cmd.end_offset, limit(end)));
  }
}
