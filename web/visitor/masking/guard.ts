/**
 * Defence in depth: the last look at every batch before it leaves the browser.
 *
 * The sanitizer (sanitize.ts) and rrweb's own masking decide what is recorded; the guard does not trust them.
 * Just before a frame is sent it collects the current masked values locally (text and content attributes of
 * masked elements and everything inside them, including open shadow roots and same-origin iframes; values of
 * masked inputs, textareas and selects, option texts; password values; recent values typed into masked fields)
 * and looks for each in the frame. An event that carries one is dropped and `maskingerror` is reported; if
 * the page's full snapshot carries one, the whole page is masked instead (a snapshot cannot be sent in part).
 *
 * False positives are kept out three ways, so that the guard does not break pages that mask common words:
 * - only strings of MIN_LENGTH characters or more count, and none made only of asterisks or dots;
 * - only string *values* of the events are compared (not keys, not numbers);
 * - a string that the page also shows outside every masked element (text, attributes, values, styles, the
 *   URL and title) is not a leak: it was never only in a masked element.
 * The check is a plain substring search of the frame first, so a frame with no hit costs one `includes`
 * per masked string.
 */

import { isElement, isPassword } from "./rules";
import type { MaskScope } from "./scope";

/** Masked strings shorter than this are not looked for (they would match too much). */
export const MIN_LENGTH = 3;
/** Values typed into masked fields remembered for the guard (a leak of an older value is still a leak). */
const MAX_TYPED = 200;
/** Per masked element, at most this many strings are collected (a huge masked table stays affordable). */
const MAX_STRINGS = 5000;

const CONTENT_ATTRIBUTE = /^(value|placeholder|title|alt|aria-.*|data-.*|href|src|srcset|content|label|poster|style|xlink:href|action|cite|background|summary)$/i;
const ASTERISKS = /^[\s*•●·]*$/;

export interface GuardVerdict {
  /** The parts to send (leaky events removed). */
  parts: string[];
  /** Something was dropped (report `maskingerror`). */
  leaked: boolean;
  /** The snapshot itself leaked: the page must be masked instead. */
  maskPage: boolean;
}

function usable(s: string): string | null {
  const t = s.trim();
  return t.length >= MIN_LENGTH && !ASTERISKS.test(t) ? t : null;
}

export class Guard {
  private readonly typed: string[] = [];
  private readonly onInput = (event: Event): void => {
    const target = event.composedPath()[0] ?? event.target;
    const scope = this.scope();
    if (!scope || !isElement(target as Node)) return;
    const el = target as Element;
    if (!("value" in el) || !(isPassword(el) || scope.isMaskedInput(el) || scope.isBlocked(el))) return;
    const value = usable(String((el as HTMLInputElement).value));
    if (value && !this.typed.includes(value)) {
      this.typed.push(value);
      if (this.typed.length > MAX_TYPED) this.typed.shift();
    }
  };

  constructor(private readonly scope: () => MaskScope | null) {
    document.addEventListener("input", this.onInput, { capture: true, passive: true });
  }

  /** Forgets typed values (a new recording). */
  reset(): void {
    this.typed.length = 0;
  }

  /** The masked strings of the page as it is now. */
  maskedStrings(scope: MaskScope): Set<string> {
    const out = new Set<string>(this.typed);
    const add = (s: unknown): void => {
      if (typeof s !== "string") return;
      const u = usable(s);
      if (u) out.add(u);
    };
    for (const el of scope.masked()) collectElement(el, add);
    for (const el of scope.passwords()) add((el as HTMLInputElement).value);
    return out;
  }

  /** Checks a batch (encoded events) just before it is sent. */
  check(parts: string[], snapshot: boolean): GuardVerdict {
    const scope = this.scope();
    const verdict: GuardVerdict = { parts, leaked: false, maskPage: false };
    if (!scope || parts.length === 0) return verdict;
    const masked = this.maskedStrings(scope);
    if (masked.size === 0) return verdict; // nothing masked holds text: nothing to look for
    const joined = parts.join("\n");
    const hits: string[] = [];
    for (const s of masked) {
      if (joined.includes(JSON.stringify(s).slice(1, -1))) hits.push(s);
    }
    if (hits.length === 0) return verdict;
    let corpus: string | null = null;
    const exempt = (s: string): boolean => (corpus ??= unmaskedCorpus(scope)).includes(s);
    const kept: string[] = [];
    parts.forEach((part, index) => {
      const leaks = hits.filter((s) => part.includes(JSON.stringify(s).slice(1, -1)) && valueContains(part, s) && !exempt(s));
      if (leaks.length === 0) {
        kept.push(part);
        return;
      }
      verdict.leaked = true;
      if (snapshot && index < 2) verdict.maskPage = true;
    });
    verdict.parts = kept;
    return verdict;
  }
}

/**
 * True if some string value in the encoded event contains `s`. Keys are not values, and rrweb's own `rr_*`
 * attributes (a placeholder's measured size, scroll offsets) are geometry it computed, not page content.
 */
function valueContains(part: string, s: string): boolean {
  let found = false;
  const walk = (value: unknown): void => {
    if (found) return;
    if (typeof value === "string") found = value.includes(s);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) if (!key.startsWith("rr_")) walk(inner);
    }
  };
  try {
    walk(JSON.parse(part));
  } catch {
    return true; // not JSON: treat the hit as real
  }
  return found;
}

/** Texts, content attributes and values of `el` and everything inside it. */
function collectElement(el: Element, add: (s: unknown) => void): void {
  let count = 0;
  const visit = (node: Node): void => {
    if (count++ > MAX_STRINGS) return;
    if (node.nodeType === Node.TEXT_NODE || node.nodeType === Node.CDATA_SECTION_NODE) {
      add((node as CharacterData).data);
      return;
    }
    if (isElement(node)) {
      for (const attr of Array.from(node.attributes)) if (CONTENT_ATTRIBUTE.test(attr.name)) add(attr.value);
      if (node.localName === "input" || node.localName === "textarea" || node.localName === "select") {
        add((node as HTMLInputElement).value);
      }
      if (node.localName === "textarea") add((node as HTMLTextAreaElement).defaultValue);
      if (node.localName === "option") add((node as HTMLOptionElement).label);
      if (node.shadowRoot) node.shadowRoot.childNodes.forEach(visit);
      if (node.localName === "iframe") {
        try {
          const inner = (node as HTMLIFrameElement).contentDocument;
          if (inner?.documentElement) visit(inner.documentElement);
        } catch {
          // cross-origin: nothing of it is recorded
        }
      }
    }
    node.childNodes.forEach(visit);
  };
  visit(el);
}

/** Everything the page shows outside masked elements, as one string (built only when a hit needs it). */
function unmaskedCorpus(scope: MaskScope): string {
  const chunks: string[] = [location.href, document.title];
  const visit = (node: Node): void => {
    if (node.nodeType === Node.TEXT_NODE) {
      chunks.push((node as Text).data);
      return;
    }
    if (isElement(node)) {
      // Scripts are never recorded (rrweb's slimDOM), so what they say does not count as shown.
      if (node.localName === "script" || node.localName === "template") return;
      if (scope.stickyBlocked.has(node) || scope.rules.matchesMask(node) || scope.stickyInputs.has(node) || isPassword(node)) return;
      chunks.push(node.localName);
      for (const attr of Array.from(node.attributes)) chunks.push(attr.value);
      // An input's or textarea's own value; not a select's, which is its chosen option's (visited as a child).
      if (node.localName === "input" || node.localName === "textarea") chunks.push((node as HTMLInputElement).value);
      if (node.shadowRoot) node.shadowRoot.childNodes.forEach(visit);
      if (node.localName === "iframe") {
        try {
          const inner = (node as HTMLIFrameElement).contentDocument;
          if (inner?.documentElement) visit(inner.documentElement);
        } catch {
          // cross-origin
        }
      }
    }
    node.childNodes.forEach(visit);
  };
  if (document.documentElement) visit(document.documentElement);
  for (const sheet of Array.from(document.styleSheets)) {
    try {
      for (const rule of Array.from(sheet.cssRules)) chunks.push(rule.cssText);
    } catch {
      // a cross-origin stylesheet: rrweb cannot read it either
    }
  }
  return chunks.join("\u0000");
}
