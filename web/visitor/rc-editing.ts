/**
 * Editing form fields the way a browser does when the visitor types, for remote control's `key` and `text`.
 *
 * Frameworks that control inputs (React, Vue) keep their own copy of the value and watch for `input` events;
 * React also wraps the element's `value` property to tell its own writes from the user's. So a value is written
 * with the NATIVE setter of HTMLInputElement / HTMLTextAreaElement (bypassing any wrapper on the element), then
 * `input` follows, as after a real keystroke; `beforeinput` comes first and may cancel the edit. The caret and
 * selection are respected (insert at the caret, replace the selection) and so is `maxlength`. `change` fires the
 * way a browser fires it: when the edited field loses focus or on Enter, and only if its value changed.
 */

const INPUT_VALUE = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value");
const TEXTAREA_VALUE = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value");

/** Input types that hold typed text (others are clicked, chosen or toggled, not typed into). */
const TYPED = new Set(["text", "search", "url", "tel", "email", "password", "number"]);

export type TextField = HTMLInputElement | HTMLTextAreaElement;

export function isTextField(el: Element | null): el is TextField {
  if (el instanceof HTMLTextAreaElement) return true;
  return el instanceof HTMLInputElement && TYPED.has(el.type);
}

/** The value before the first unsent edit of each field, for its `change` at blur or Enter. */
const editedFrom = new WeakMap<TextField, string>();

function setNativeValue(field: TextField, value: string): void {
  const descriptor = field instanceof HTMLTextAreaElement ? TEXTAREA_VALUE : INPUT_VALUE;
  if (descriptor?.set) descriptor.set.call(field, value);
}

function nativeValue(field: TextField): string {
  const descriptor = field instanceof HTMLTextAreaElement ? TEXTAREA_VALUE : INPUT_VALUE;
  return descriptor?.get ? String(descriptor.get.call(field)) : field.value;
}

/** The selection as [start, end]; fields without a selection API (email, number) edit at the end. */
export function selectionOf(field: TextField): [number, number] {
  const length = nativeValue(field).length;
  try {
    const start = field.selectionStart;
    const end = field.selectionEnd;
    if (start !== null && end !== null) return [Math.min(start, length), Math.min(end, length)];
  } catch {
    // no selection API for this type
  }
  return [length, length];
}

/** Moves the caret or selection, where the field's type allows it. */
export function setSelection(field: TextField, start: number, end: number = start): void {
  try {
    field.setSelectionRange(start, end);
  } catch {
    // email, number: no selection API
  }
}

/** Fires `change` if the field's value differs from before its first edit since the last `change`. */
export function commitChange(field: TextField): void {
  const before = editedFrom.get(field);
  if (before === undefined) return;
  editedFrom.delete(field);
  if (nativeValue(field) !== before) field.dispatchEvent(new Event("change", { bubbles: true }));
}

function rememberEdit(field: TextField, before: string): void {
  if (editedFrom.has(field)) return;
  editedFrom.set(field, before);
  field.addEventListener("blur", () => commitChange(field), { once: true });
}

/**
 * One edit of a field: `beforeinput` (cancelable), the new value through the native setter, the caret after the
 * edit, then `input`. `change(value, start, end)` gives the new value and caret, or null for "nothing to do".
 * Returns true if the value changed.
 */
function edit(
  field: TextField,
  inputType: string,
  data: string | null,
  change: (value: string, start: number, end: number) => { value: string; caret: number } | null,
): boolean {
  if (field.disabled || field.readOnly) return false;
  const before = nativeValue(field);
  const [start, end] = selectionOf(field);
  const next = change(before, start, end);
  if (next === null || next.value === before) return false;
  const init = { bubbles: true, cancelable: true, composed: true, inputType, data };
  if (!field.dispatchEvent(new InputEvent("beforeinput", init))) return false;
  rememberEdit(field, before);
  setNativeValue(field, next.value);
  setSelection(field, next.caret);
  field.dispatchEvent(new InputEvent("input", { ...init, cancelable: false }));
  return true;
}

/** Inserts `text` at the caret (replacing the selection), cut to what `maxlength` leaves room for. */
export function insertText(field: TextField, text: string, inputType = "insertText"): boolean {
  const clean = field instanceof HTMLTextAreaElement ? text.replace(/\r\n?/g, "\n") : text.replace(/[\r\n]+/g, "");
  return edit(field, inputType, clean, (value, start, end) => {
    let insert = clean;
    if (field.maxLength >= 0) {
      const room = Math.max(0, field.maxLength - (value.length - (end - start)));
      let cut = "";
      for (const char of insert) {
        if (cut.length + char.length > room) break; // maxlength counts UTF-16 units; never split a character
        cut += char;
      }
      insert = cut;
    }
    if (insert === "" && start === end) return null;
    return { value: value.slice(0, start) + insert + value.slice(end), caret: start + insert.length };
  });
}

/** Backspace (`forward` false) or Delete: the selection, else one character before or after the caret. */
export function deleteText(field: TextField, forward: boolean): boolean {
  const inputType = forward ? "deleteContentForward" : "deleteContentBackward";
  return edit(field, inputType, null, (value, start, end) => {
    if (start !== end) return { value: value.slice(0, start) + value.slice(end), caret: start };
    if (forward) {
      if (start >= value.length) return null;
      const size = Array.from(value.slice(start, start + 2))[0].length;
      return { value: value.slice(0, start) + value.slice(start + size), caret: start };
    }
    if (start === 0) return null;
    const chars = Array.from(value.slice(Math.max(0, start - 2), start));
    const size = chars[chars.length - 1].length;
    return { value: value.slice(0, start - size) + value.slice(start), caret: start - size };
  });
}

/** Arrow keys, Home and End inside a field: move the caret (with shift: extend the selection). */
export function moveCaret(field: TextField, key: string, shift: boolean): boolean {
  const value = nativeValue(field);
  const [start, end] = selectionOf(field);
  let caret: number;
  const lineStart = (at: number): number => value.lastIndexOf("\n", at - 1) + 1;
  const lineEnd = (at: number): number => (value.indexOf("\n", at) === -1 ? value.length : value.indexOf("\n", at));
  const multiline = field instanceof HTMLTextAreaElement;
  if (key === "ArrowLeft") caret = shift || start === end ? Math.max(0, start - 1) : start;
  else if (key === "ArrowRight") caret = shift || start === end ? Math.min(value.length, end + 1) : end;
  else if (key === "Home") caret = multiline ? lineStart(start) : 0;
  else if (key === "End") caret = multiline ? lineEnd(end) : value.length;
  else if (!multiline) return false;
  else if (key === "ArrowUp") {
    const here = lineStart(start);
    if (here === 0) caret = 0;
    else caret = Math.min(lineStart(here - 1) + (start - here), here - 1);
  } else if (key === "ArrowDown") {
    const next = lineEnd(end);
    if (next === value.length) caret = value.length;
    else caret = Math.min(next + 1 + (end - lineStart(end)), lineEnd(next + 1));
  } else return false;
  if (shift) setSelection(field, Math.min(start, caret), Math.max(end, caret));
  else setSelection(field, caret);
  return true;
}

/** Ctrl/Cmd+A in a field: select everything. */
export function selectAll(field: TextField): void {
  setSelection(field, 0, nativeValue(field).length);
}
