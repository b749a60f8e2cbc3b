/**
 * The effective masking rules of a page, and the DOM questions every other masking module asks of them.
 *
 * Rules come from three places (docs/masking.md): the page's own markup (class or attribute
 * `glance_masked`), the group's selectors (`started.masking.selectors`) and the hook's `maskedelements`;
 * page masking from the group's URL lists unless the hook's `maskpage` says otherwise, or from any error.
 *
 * Two kinds of masked element, because an agent needs to see a form's shape but never its content:
 * - text-like inputs and textareas are *masked inputs*: they stay in the copy, their value shown as
 *   asterisks of its length, every other content-bearing attribute removed;
 * - everything else (including selects, checkboxes, hidden inputs, canvases, media, iframes and shadow hosts)
 *   is *blocked*: rrweb replaces it by an empty element of the same tag and size, and nothing inside it
 *   (children, shadow root, iframe document) is serialized.
 * Password inputs are always masked inputs. "Inside" crosses open shadow roots (to the host) and same-origin
 * iframes (to the `<iframe>` element), so a mask covers what is nested in it either way.
 */

import type { MaskingConfig } from "../../shared/protocol";

/** The page's own marking, always on. */
export const PAGE_MARK_SELECTOR = ".glance_masked, [glance_masked]";

/** Input types whose value is text: masked ones show asterisks; masked inputs of other types are blocked. */
export const TEXT_INPUT_TYPES = [
  "text", "password", "email", "tel", "number", "search", "url", "date", "datetime-local", "month", "week", "time",
] as const;

const NOT_TEXT_CONTROL =
  ":not(textarea):not(input:not([type])):not(" + TEXT_INPUT_TYPES.map((t) => `input[type="${t}" i]`).join(", ") + ")";

/** Why `selector` is not usable, or null when it is (tested the way rrweb will use it). */
export function invalidSelector(selector: string, doc: Document = document): string | null {
  if (selector.trim() === "" || selector.includes("{") || selector.includes("}")) return `invalid CSS selector "${selector}"`;
  try {
    doc.querySelector(selector);
    doc.createElement("div").matches(`:is(${selector})`);
    return null;
  } catch {
    return `invalid CSS selector "${selector}"`;
  }
}

/** The parent of `node` for masking purposes: shadow roots lead to their host, documents to their iframe. */
export function maskParent(node: Node): Node | null {
  const parent = node.parentNode;
  if (parent) {
    if (parent.nodeType === Node.DOCUMENT_FRAGMENT_NODE && (parent as ShadowRoot).host) return (parent as ShadowRoot).host;
    return parent;
  }
  if (node.nodeType === Node.DOCUMENT_NODE) {
    try {
      return (node as Document).defaultView?.frameElement ?? null;
    } catch {
      return null;
    }
  }
  return null;
}

export function isElement(node: Node | null): node is Element {
  return node !== null && node.nodeType === Node.ELEMENT_NODE;
}

export function isPassword(el: Element): boolean {
  // rrweb marks an input that was a password and became text ("show password"): it stays masked.
  return el.localName === "input" && ((el as HTMLInputElement).type === "password" || el.hasAttribute("data-rr-is-password"));
}

/**
 * Selector syntax whose match can change when something *other* than the element or one of its ancestors
 * changes: siblings (`+`, `~`, `:nth-*`, `:first-*`, ...), children (`:has`, `:empty`) or a shadow host
 * (`:host`). Matched on the selector text, so a `+` inside an attribute value also counts (conservative).
 */
const STRUCTURAL = /[+~]|:(?:has|nth|first|last|only|empty|blank|host|scope)/i;

export class MaskRules {
  /** Every masked element (both kinds). */
  readonly maskSelector: string;
  /** Masked elements that are blocked (all but text-like inputs and textareas): rrweb's `blockSelector`. */
  readonly blockSelector: string;
  /** A stable text form of the rules, to tell whether a new hook answer changes anything. */
  readonly key: string;
  /**
   * Whether an element's match depends only on itself and its ancestors (no STRUCTURAL syntax): then a
   * change can only change the match of the changed element and of what is inside it (masking/watch.ts).
   */
  readonly local: boolean;

  /**
   * @param selectors group and hook selectors (already checked valid)
   * @param pageMasked the whole page is masked
   * @param reason why the page is masked by an error (null when it is not an error)
   */
  constructor(
    readonly selectors: readonly string[],
    readonly pageMasked: boolean,
    readonly reason: string | null = null,
  ) {
    const all = [PAGE_MARK_SELECTOR, ...selectors];
    this.maskSelector = all.join(", ");
    this.blockSelector = all.map((s) => `:is(${s})${NOT_TEXT_CONTROL}`).join(", ");
    this.key = JSON.stringify([pageMasked, [...new Set(selectors)].sort()]);
    this.local = !selectors.some((s) => STRUCTURAL.test(s));
  }

  /** Rules that mask the whole page because of an error. */
  static failed(reason: string): MaskRules {
    return new MaskRules([], true, reason);
  }

  /** The group's selectors that are not valid CSS, as a reason (the group's rules then mask the page). */
  static checkGroup(config: MaskingConfig | undefined): string | null {
    for (const selector of config?.selectors ?? []) {
      if (typeof selector !== "string") return "the group's masked element selectors are malformed";
      const problem = invalidSelector(selector);
      if (problem) return `${problem} in the group's masking configuration`;
    }
    return null;
  }

  matchesMask(el: Element): boolean {
    try {
      return el.matches(this.maskSelector);
    } catch {
      return true;
    }
  }

  matchesBlock(el: Element): boolean {
    try {
      return el.matches(this.blockSelector);
    } catch {
      return true;
    }
  }
}
