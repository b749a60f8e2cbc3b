/**
 * What remote control may touch: the checks every control command passes before it acts on the page.
 *
 * The server forwards commands only from agents with the permission and only while control is enabled, but the
 * visitor's page is the last gate and the only one that knows the page, so it trusts nothing in a command:
 * - a node must be one of this page's own document tree (shadow roots included): nothing in an iframe, another
 *   document, or detached;
 * - masked content is out of reach: what the masking rules hide (group selectors, the hook), passwords, the
 *   page's own `glance_masked` and `data-no-cobrowse-content` marks, and anything inside `glance_norc`;
 * - nothing that runs code: no `javascript:` link or form action, no file picker.
 * The walk up from a node crosses shadow roots to their host, so a mark on a host covers its shadow content.
 */

import { isPassword } from "./masking/rules";

/** Marks that keep an element (and everything in it) away from remote control. */
const OFF_LIMITS = ".glance_norc, .glance_masked, [glance_masked], [data-no-cobrowse-content]";

/** The parent of `node`, leaving a shadow root for its host; null at the document. */
export function composedParent(node: Node): Node | null {
  const parent = node.parentNode;
  if (parent && parent.nodeType === Node.DOCUMENT_FRAGMENT_NODE) return (parent as ShadowRoot).host ?? null;
  return parent;
}

/** The element a command about `node` acts on: the node itself, or a text node's parent element. */
export function elementOf(node: Node): Element | null {
  if (node.nodeType === Node.ELEMENT_NODE) return node as Element;
  const parent = node.parentNode;
  return parent && parent.nodeType === Node.ELEMENT_NODE ? (parent as Element) : null;
}

/** True if `node` is attached to this page's own document, directly or through shadow roots. */
export function inThisDocument(node: Node): boolean {
  return node.isConnected && node.ownerDocument === document && node.getRootNode({ composed: true }) === document;
}

/**
 * True if remote control must not act on `node`: masked by the page's rules (`hides`, which is also true
 * whenever the page is not being recorded under known rules), a password, or inside an off-limits mark.
 */
export function isProtected(node: Node, hides: (el: Element) => boolean): boolean {
  const el = elementOf(node);
  if (!el || hides(el)) return true;
  for (let n: Node | null = el; n; n = composedParent(n)) {
    if (n.nodeType !== Node.ELEMENT_NODE) continue;
    const element = n as Element;
    if (isPassword(element)) return true;
    try {
      if (element.matches(OFF_LIMITS)) return true;
    } catch {
      return true;
    }
  }
  return false;
}

/** True if `url` (an attribute's text) would run script when followed: a `javascript:` URL. */
export function isScriptUrl(url: string | null): boolean {
  if (url === null) return false;
  try {
    return new URL(url.trim(), document.baseURI).protocol === "javascript:";
  } catch {
    // Not a URL the browser could follow; still refuse anything that spells the scheme.
    return /^\s*javascript:/i.test(url.replace(/[\t\n\r]/g, ""));
  }
}

const XLINK = "http://www.w3.org/1999/xlink";

/** The href of the nearest `<a>` / `<area>` (SVG's too) around `el` (crossing shadow roots), or null. */
function linkAround(el: Element): string | null {
  for (let n: Node | null = el; n; n = composedParent(n)) {
    if (n.nodeType !== Node.ELEMENT_NODE || !["a", "area"].includes((n as Element).localName)) continue;
    const link = n as Element;
    const href = link.getAttribute("href") ?? link.getAttributeNS(XLINK, "href");
    if (href !== null) return href;
  }
  return null;
}

/** A submit button (`<button>` of type submit, `<input type=submit|image>`), else null. */
export function asSubmitter(el: Element): HTMLButtonElement | HTMLInputElement | null {
  if (el instanceof HTMLButtonElement && el.type === "submit") return el;
  if (el instanceof HTMLInputElement && (el.type === "submit" || el.type === "image")) return el;
  return null;
}

/** True if submitting `form` (by `submitter`, if any) would run a `javascript:` action. */
export function submitRunsCode(form: HTMLFormElement, submitter: Element | null): boolean {
  if (submitter?.hasAttribute("formaction")) return isScriptUrl(submitter.getAttribute("formaction"));
  return isScriptUrl(form.getAttribute("action"));
}

/**
 * Why a click on `el` is refused, or null when it may go ahead: `el` and what a click would activate (a label's
 * control, a link, a form's submission) must be neither protected nor code.
 */
export function clickRefusal(el: Element, hides: (el: Element) => boolean): string | null {
  const targets: Element[] = [el];
  const label = el.closest("label");
  const control = label instanceof HTMLLabelElement ? label.control : null;
  if (control) targets.push(control);
  for (const target of targets) {
    if (isProtected(target, hides)) return "the element is masked or marked glance_norc";
    if (target instanceof HTMLInputElement && target.type === "file") return "file pickers are not opened remotely";
    if (isScriptUrl(linkAround(target))) return "javascript: links are not followed";
    const submitter = target instanceof Element ? asSubmitter(target.closest("button, input") ?? target) : null;
    if (submitter?.form && submitRunsCode(submitter.form, submitter)) return "the form's action is javascript:";
  }
  return null;
}

/** True if `el` shows on the page: it has a box and is not `visibility: hidden` (agents point at what they see). */
export function isShown(el: Element): boolean {
  if (el.getClientRects().length === 0) return false;
  try {
    return getComputedStyle(el).visibility !== "hidden";
  } catch {
    return false;
  }
}
