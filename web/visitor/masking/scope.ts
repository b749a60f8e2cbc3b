/**
 * What is masked during one recording: the rules plus every element that has been masked since the recording
 * began ("sticky"), across the document, its open shadow roots and its same-origin iframes.
 *
 * Why sticky: a mask applies from the moment an element becomes masked and stops only with a full update
 * (docs/masking.md). An element that loses its `glance_masked` class keeps being treated as masked by the
 * sanitizer and the guard until the recording restarts with a fresh snapshot.
 *
 * A recording restart makes a new scope, so the sticky sets are bounded by the life of one recording; detached
 * elements are pruned as the watcher goes.
 */

import { isElement, isPassword, maskParent, MaskRules } from "./rules";

/** Walks `root` and the open shadow roots and same-origin iframe documents under it. */
export function collectRoots(root: Document | ShadowRoot, into: Set<Document | ShadowRoot> = new Set()): Set<Document | ShadowRoot> {
  if (into.has(root)) return into;
  into.add(root);
  const doc = root.nodeType === Node.DOCUMENT_NODE ? (root as Document) : root.ownerDocument;
  if (!doc) return into;
  const walker = doc.createTreeWalker(root, NodeFilter.SHOW_ELEMENT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) addRootsOf(node as Element, into);
  return into;
}

/** The shadow root and iframe document of `el` itself (and, recursively, under them). */
export function addRootsOf(el: Element, into: Set<Document | ShadowRoot>): void {
  const shadow = el.shadowRoot;
  if (shadow) collectRoots(shadow, into);
  if (el.localName === "iframe" || el.localName === "frame") {
    let inner: Document | null = null;
    try {
      inner = (el as HTMLIFrameElement).contentDocument;
    } catch {
      inner = null; // cross-origin: rrweb does not record it either
    }
    if (inner) collectRoots(inner, into);
  }
}

export class MaskScope {
  /** Blocked elements (and masked inputs) seen masked since this recording began. */
  readonly stickyBlocked = new Set<Element>();
  readonly stickyInputs = new Set<Element>();
  roots: Set<Document | ShadowRoot>;

  constructor(readonly rules: MaskRules) {
    this.roots = collectRoots(document);
    this.rescan();
  }

  /** Adds every element masked now to the sticky sets; returns those that were not there before. */
  rescan(): Element[] {
    const fresh: Element[] = [];
    for (const root of this.roots) {
      let found: NodeListOf<Element>;
      try {
        found = root.querySelectorAll(this.rules.maskSelector);
      } catch {
        continue;
      }
      for (const el of Array.from(found)) if (this.remember(el)) fresh.push(el);
    }
    return fresh;
  }

  /**
   * Like `rescan`, but only `elements` and what is inside them (in their own tree): enough when the rules are
   * `local` and these are the only elements that changed or were added.
   */
  rescanWithin(elements: Iterable<Element>): Element[] {
    const fresh: Element[] = [];
    const selector = this.rules.maskSelector;
    for (const el of elements) {
      try {
        if (el.matches(selector) && this.remember(el)) fresh.push(el);
        if (el.firstElementChild === null) continue; // a leaf (a table cell, a label): nothing inside
        const found = el.querySelectorAll(selector);
        for (let i = 0; i < found.length; i++) if (this.remember(found[i])) fresh.push(found[i]);
      } catch {
        return this.rescan();
      }
    }
    return fresh;
  }

  /** Records `el` (which matches the mask) as masked; true if it was not known. */
  remember(el: Element): boolean {
    const set = this.rules.matchesBlock(el) ? this.stickyBlocked : this.stickyInputs;
    if (set.has(el)) return false;
    set.add(el);
    return true;
  }

  /** Forgets elements and roots that have left the document (a restart forgets everything anyway). */
  prune(): void {
    for (const root of this.roots) {
      const gone = root.nodeType === Node.DOCUMENT_NODE ? !(root as Document).defaultView : !(root as ShadowRoot).host.isConnected;
      if (gone && root !== document) this.roots.delete(root);
    }
    for (const set of [this.stickyBlocked, this.stickyInputs]) {
      for (const el of set) if (!el.isConnected) set.delete(el);
    }
  }

  private blockedElement(el: Element): boolean {
    return this.stickyBlocked.has(el) || this.rules.matchesBlock(el);
  }

  /** True if `node` is a blocked element or inside one (through shadow hosts and iframes). */
  isBlocked(node: Node | null): boolean {
    for (let n: Node | null = node; n; n = maskParent(n)) {
      if (isElement(n) && this.blockedElement(n)) return true;
    }
    return false;
  }

  /**
   * `isBlocked` for many nodes of one moment of the page (one mutation event): every answer is kept, so nodes
   * that share ancestors (the cells of one table) match each ancestor once, not once per node.
   */
  blockedLookup(): (node: Node | null) => boolean {
    const known = new Map<Node, boolean>();
    return (node: Node | null): boolean => {
      const chain: Node[] = [];
      let answer = false;
      for (let n: Node | null = node; n; n = maskParent(n)) {
        const cached = known.get(n);
        if (cached !== undefined) {
          answer = cached;
          break;
        }
        if (isElement(n) && this.blockedElement(n)) {
          answer = true;
          known.set(n, true);
          break;
        }
        chain.push(n);
      }
      for (const n of chain) known.set(n, answer);
      return answer;
    };
  }

  /** True if `node` is strictly inside a blocked element. */
  insideBlocked(node: Node): boolean {
    const parent = maskParent(node);
    return parent !== null && this.isBlocked(parent);
  }

  /** A text-like input or textarea whose value must show as asterisks (passwords always). */
  isMaskedInput(el: Element): boolean {
    if (el.localName !== "input" && el.localName !== "textarea") return false;
    if (isPassword(el) || this.stickyInputs.has(el) || this.rules.matchesMask(el)) return true;
    for (let n = maskParent(el); n; n = maskParent(n)) {
      if (isElement(n) && (this.rules.matchesMask(n) || this.stickyBlocked.has(n))) return true;
    }
    return false;
  }

  /** Every element masked in this recording (sticky sets), for the guard. */
  masked(): Element[] {
    return [...this.stickyBlocked, ...this.stickyInputs];
  }

  /** Password inputs anywhere in the recorded roots. */
  passwords(): Element[] {
    const out: Element[] = [];
    for (const root of this.roots) out.push(...Array.from(root.querySelectorAll('input[type="password" i]')));
    return out;
  }
}
