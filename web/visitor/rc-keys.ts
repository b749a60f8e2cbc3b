/**
 * Keyboard keys for remote control (`key` commands): the events a real key press fires, then what the browser
 * would do by default, because synthetic key events change nothing on their own.
 *
 * `keydown` (and `keypress` for characters and Enter) go to the focused element; if no listener cancels them
 * the default action follows: a character is typed at the caret, Backspace / Delete edit, Enter submits an
 * input's form (implicit submission) or breaks a textarea's line or activates a button or link, Space toggles
 * or presses, Tab / Shift+Tab move the focus, arrows move the caret, change a select's option or a radio
 * group's choice, or scroll, like Home / End / PageUp / PageDown. Then `keyup` goes to whatever has the focus
 * afterwards. Escape only fires its events (the page's own listeners decide what it means). Legacy `keyCode`
 * is set too, for sites that still read it.
 */

import { asSubmitter, isProtected, isShown, submitRunsCode } from "./rc-guard";
import { commitChange, deleteText, insertText, isTextField, moveCaret, selectAll } from "./rc-editing";
import type { TextField } from "./rc-editing";

export interface KeyPress {
  key: string;
  shift: boolean;
  ctrl: boolean;
  alt: boolean;
  meta: boolean;
}

export interface KeyContext {
  /** Clicks `el` the way a pointer click would (with all of its checks); false if refused. */
  click(el: Element): boolean;
  hides(el: Element): boolean;
}

const KEY_CODES: Record<string, number> = {
  Backspace: 8, Tab: 9, Enter: 13, Escape: 27, " ": 32, PageUp: 33, PageDown: 34, End: 35, Home: 36,
  ArrowLeft: 37, ArrowUp: 38, ArrowRight: 39, ArrowDown: 40, Delete: 46,
};
const ARROW_STEP_PX = 40;

/** A single character (one code point): typed as text. */
export function isCharacter(key: string): boolean {
  return Array.from(key).length === 1;
}

function codeOf(key: string): string {
  if (/^[a-z]$/i.test(key)) return `Key${key.toUpperCase()}`;
  if (/^[0-9]$/.test(key)) return `Digit${key}`;
  return key === " " ? "Space" : isCharacter(key) ? "" : key;
}

function keyEvent(type: string, press: KeyPress): KeyboardEvent {
  const event = new KeyboardEvent(type, {
    key: press.key, code: codeOf(press.key), bubbles: true, cancelable: true, composed: true, view: window,
    shiftKey: press.shift, ctrlKey: press.ctrl, altKey: press.alt, metaKey: press.meta,
  });
  const legacy = KEY_CODES[press.key] ?? (isCharacter(press.key) ? press.key.toUpperCase().charCodeAt(0) : 0);
  for (const name of ["keyCode", "which"]) Object.defineProperty(event, name, { get: () => legacy });
  return event;
}

/** The focused element, inside open shadow roots too; null when nothing (or the body) has the focus. */
export function deepActiveElement(): Element | null {
  let active: Element | null = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active === document.body || active === document.documentElement ? null : active;
}

/** Presses `press.key` on `target` (the focused element, or what the agent last clicked). */
export function pressKey(target: Element, press: KeyPress, ctx: KeyContext): void {
  const down = keyEvent("keydown", press);
  target.dispatchEvent(down);
  let proceed = !down.defaultPrevented;
  if (proceed && (isCharacter(press.key) || press.key === "Enter") && !press.ctrl && !press.meta) {
    proceed = target.dispatchEvent(keyEvent("keypress", press));
  }
  if (proceed) defaultAction(target, press, ctx);
  (deepActiveElement() ?? target).dispatchEvent(keyEvent("keyup", press));
}

function defaultAction(target: Element, press: KeyPress, ctx: KeyContext): void {
  const { key } = press;
  const field = isTextField(target) ? target : null;
  if (press.ctrl || press.meta) {
    if (field && key.toLowerCase() === "a") selectAll(field);
    return;
  }
  if (key === "Tab") {
    moveFocus(press.shift ? -1 : 1, ctx);
  } else if (field) {
    fieldKey(field, press, ctx);
  } else if (key === "Enter" || key === " ") {
    if (activatable(target, key)) ctx.click(target);
    else if (key === " ") scrollByKey(target, press.shift ? "PageUp" : "PageDown");
  } else if (target instanceof HTMLSelectElement) {
    selectKey(target, key);
  } else if (target instanceof HTMLInputElement && target.type === "radio" && key.startsWith("Arrow")) {
    radioKey(target, key === "ArrowDown" || key === "ArrowRight" ? 1 : -1);
  } else if (!isCharacter(key)) {
    scrollByKey(target, key);
  }
}

/** Enter and Space press buttons, Enter follows links; Space toggles checkboxes and radios. */
function activatable(el: Element, key: string): boolean {
  if (el instanceof HTMLButtonElement || el.getAttribute("role") === "button") return true;
  if (el instanceof HTMLInputElement) {
    if (["submit", "reset", "button", "image"].includes(el.type)) return true;
    return key === " " && (el.type === "checkbox" || el.type === "radio");
  }
  return key === "Enter" && (el instanceof HTMLAnchorElement || el instanceof HTMLAreaElement) && el.hasAttribute("href");
}

function fieldKey(field: TextField, press: KeyPress, ctx: KeyContext): void {
  const { key } = press;
  if (isCharacter(key)) insertText(field, key);
  else if (key === "Backspace" || key === "Delete") deleteText(field, key === "Delete");
  else if (key === "Enter" && field instanceof HTMLTextAreaElement) insertText(field, "\n", "insertLineBreak");
  else if (key === "Enter") {
    commitChange(field);
    implicitSubmission(field as HTMLInputElement, ctx);
  } else moveCaret(field, key, press.shift);
}

/** Enter in an input submits its form: through its default button if it has one, as the browser does. */
function implicitSubmission(input: HTMLInputElement, ctx: KeyContext): void {
  const form = input.form;
  if (!form) return;
  const submitter = Array.from(form.elements).map(asSubmitter).find((el) => el !== null) ?? null;
  if (submitter) {
    if (!submitter.disabled) ctx.click(submitter);
    return;
  }
  // No submit button: only a form with a single text field submits on Enter.
  if (Array.from(form.elements).filter(isTextField).length > 1 || submitRunsCode(form, null)) return;
  try {
    form.requestSubmit();
  } catch {
    // not submittable
  }
}

/** Up / Down (and Home / End) choose the previous / next enabled option, with `input` and `change`. */
function selectKey(select: HTMLSelectElement, key: string): void {
  const options = Array.from(select.options);
  const enabled = options.map((o, i) => (o.disabled ? -1 : i)).filter((i) => i >= 0);
  if (enabled.length === 0 || select.disabled) return;
  const at = select.selectedIndex;
  let next: number | undefined;
  if (key === "ArrowDown" || key === "ArrowRight") next = enabled.find((i) => i > at);
  else if (key === "ArrowUp" || key === "ArrowLeft") next = [...enabled].reverse().find((i) => i < at);
  else if (key === "Home" || key === "PageUp") next = enabled[0];
  else if (key === "End" || key === "PageDown") next = enabled[enabled.length - 1];
  if (next === undefined || next === at) return;
  select.selectedIndex = next;
  select.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
  select.dispatchEvent(new Event("change", { bubbles: true }));
}

/** Arrows in a radio group check and focus the next / previous radio of the group. */
function radioKey(radio: HTMLInputElement, step: number): void {
  const scope: ParentNode = radio.form ?? radio.getRootNode() as ParentNode;
  const group = Array.from(scope.querySelectorAll<HTMLInputElement>('input[type="radio" i]')).filter(
    (r) => r.name === radio.name && r.form === radio.form && !r.disabled,
  );
  const at = group.indexOf(radio);
  if (radio.name === "" || group.length < 2 || at < 0) return;
  const next = group[(at + step + group.length) % group.length];
  next.focus();
  next.checked = true;
  next.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
  next.dispatchEvent(new Event("change", { bubbles: true }));
}

const TABBABLE =
  'a[href], area[href], button, input, select, textarea, iframe, summary, [tabindex], [contenteditable]:not([contenteditable="false"])';

/** Elements Tab stops at, in tab order (positive tabindex first); masked and glance_norc ones are skipped. */
function tabOrder(ctx: KeyContext): HTMLElement[] {
  const radioGroups = new Map<string, HTMLInputElement>();
  const candidates = Array.from(document.querySelectorAll<HTMLElement>(TABBABLE)).filter((el) => {
    if (el.tabIndex < 0 || (el as HTMLInputElement).disabled || el.closest("[inert]")) return false;
    if (el instanceof HTMLInputElement && el.type === "hidden") return false;
    return isShown(el) && !isProtected(el, ctx.hides);
  });
  // A radio group is one stop: its checked radio, else its first.
  for (const el of candidates) {
    if (!(el instanceof HTMLInputElement) || el.type !== "radio" || el.name === "") continue;
    const first = radioGroups.get(el.name);
    if (!first || (el.checked && !first.checked)) radioGroups.set(el.name, el);
  }
  const stops = candidates.filter(
    (el) => !(el instanceof HTMLInputElement && el.type === "radio" && el.name !== "" && radioGroups.get(el.name) !== el),
  );
  const positive = stops.filter((el) => el.tabIndex > 0).sort((a, b) => a.tabIndex - b.tabIndex);
  return [...positive, ...stops.filter((el) => el.tabIndex === 0)];
}

function moveFocus(step: number, ctx: KeyContext): void {
  const order = tabOrder(ctx);
  if (order.length === 0) return;
  let active: Element | null = deepActiveElement();
  while (active && !order.includes(active as HTMLElement)) active = (active.getRootNode() as ShadowRoot).host ?? null;
  const at = active ? order.indexOf(active as HTMLElement) : -1;
  const next = order[at < 0 ? (step > 0 ? 0 : order.length - 1) : (at + step + order.length) % order.length];
  next.focus();
  if (isTextField(next)) selectAll(next); // tabbing into a field selects its text, as browsers do
}

/** The nearest ancestor of `node` (itself included) that scrolls along the asked axis; null: the page. */
export function scrollerOf(node: Node | null, dx: number, dy: number): Element | null {
  for (let n: Node | null = node; n; n = n.parentNode ?? (n as ShadowRoot).host ?? null) {
    if (n.nodeType !== Node.ELEMENT_NODE || n === document.documentElement || n === document.body) continue;
    const el = n as Element;
    const style = getComputedStyle(el);
    const scrolls = (overflow: string): boolean => /(auto|scroll|overlay)/.test(overflow);
    if (dy !== 0 && scrolls(style.overflowY) && el.scrollHeight > el.clientHeight) return el;
    if (dx !== 0 && scrolls(style.overflowX) && el.scrollWidth > el.clientWidth) return el;
  }
  return null;
}

/** Scrolls what `node` is in (or the page) by `dx`, `dy` pixels. */
export function scrollFrom(node: Node | null, dx: number, dy: number): void {
  const scroller = scrollerOf(node, dx, dy);
  if (scroller) scroller.scrollBy({ left: dx, top: dy, behavior: "instant" as ScrollBehavior });
  else window.scrollBy({ left: dx, top: dy, behavior: "instant" as ScrollBehavior });
}

/** Arrows, PageUp / PageDown and Home / End scroll the container the agent is in, or the page. */
function scrollByKey(target: Element, key: string): void {
  const probe = scrollerOf(target, 0, 1);
  const height = probe ? probe.clientHeight : innerHeight;
  const far = 1e7;
  const steps: Record<string, [number, number]> = {
    ArrowDown: [0, ARROW_STEP_PX], ArrowUp: [0, -ARROW_STEP_PX], ArrowRight: [ARROW_STEP_PX, 0],
    ArrowLeft: [-ARROW_STEP_PX, 0], PageDown: [0, height * 0.875], PageUp: [0, -height * 0.875],
    End: [0, far], Home: [0, -far],
  };
  const step = steps[key];
  if (step) scrollFrom(target, step[0], step[1]);
}
