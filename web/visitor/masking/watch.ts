/**
 * Notices when the set of masked elements changes under a running recording.
 *
 * A recording's rules are fixed (rrweb's `blockSelector` is given at start), but which elements they match is
 * not: a script adds `glance_masked` to an element, or changes an attribute a group selector looks at, or
 * inserts a node that makes a sibling match. Each changes what must be masked, and the content the agent
 * already has of that element can only be taken back by a full update, so `onChange` asks for one.
 *
 * A masked node *inserted* is different: rrweb serializes an added node with the current block rules, so it
 * reaches the agent masked from the start; it only joins the sticky set (the guard then knows its values).
 * Elements that stop matching (the class removed) also ask for a full update, and stay masked until it.
 */

import { isElement, maskParent } from "./rules";
import { addRootsOf, type MaskScope } from "./scope";

/** Past this many changed elements in one batch, one pass over the document costs less than one per element. */
const FULL_RESCAN_AT = 500;

export class MaskWatcher {
  private observer: MutationObserver | null = null;
  private scope: MaskScope | null = null;
  /** An iframe that loads a (new) document: watch and scan it too (`load` does not bubble; it is captured). */
  private readonly onLoad = (event: Event): void => {
    const target = event.target;
    const scope = this.scope;
    const observer = this.observer;
    if (!scope || !observer || !isElement(target as Node) || (target as Element).localName !== "iframe") return;
    const before = scope.roots.size;
    addRootsOf(target as Element, scope.roots);
    if (scope.roots.size === before) return;
    for (const root of scope.roots) this.observe(observer, root);
    // rrweb serializes the new document with the block rules: what is masked in it arrives masked.
    this.onRecords(observer, [], new Set<Node>([target as Element]), true);
  };

  constructor(private readonly onChange: (why: string) => void) {}

  start(scope: MaskScope): void {
    this.stop();
    this.scope = scope;
    const observer = new MutationObserver((records) => this.onRecords(observer, records));
    this.observer = observer;
    for (const root of scope.roots) this.observe(observer, root);
    document.addEventListener("load", this.onLoad, true);
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = null;
    this.scope = null;
    document.removeEventListener("load", this.onLoad, true);
  }

  private observe(observer: MutationObserver, root: Node): void {
    try {
      observer.observe(root, { subtree: true, childList: true, attributes: true });
    } catch {
      // a document that went away
    }
  }

  /**
   * Runs after every batch of page changes (on a busy page, thousands of records a second), so it costs little
   * when nothing masking-relevant changed: it looks only at attribute changes and added elements, and with
   * `local` rules re-checks just those elements and what is inside them instead of the whole document (past
   * FULL_RESCAN_AT changed elements, or when new roots appear, one pass over every root is cheaper).
   */
  private onRecords(observer: MutationObserver, records: MutationRecord[], added = new Set<Node>(), full = false): void {
    const scope = this.scope;
    if (observer !== this.observer || !scope) return;
    const changed = new Set<Element>();
    let removed = false;
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      if (record.type === "attributes") {
        changed.add(record.target as Element);
        continue;
      }
      if (record.removedNodes.length > 0) removed = true;
      const nodes = record.addedNodes;
      for (let j = 0; j < nodes.length; j++) {
        const node = nodes[j];
        if (!isElement(node)) continue; // text: it matches no selector (`:empty` makes the rules non-local)
        added.add(node);
        changed.add(node);
        // New shadow roots and iframes inside the added subtree are watched and scanned too.
        const before = scope.roots.size;
        addRootsOf(node, scope.roots);
        if (node.firstElementChild !== null) for (const el of Array.from(node.querySelectorAll("*"))) addRootsOf(el, scope.roots);
        if (scope.roots.size !== before) {
          full = true;
          for (const root of scope.roots) this.observe(observer, root);
        }
      }
    }
    if (removed || full) scope.prune();
    if (changed.size === 0 && !removed && !full) return;
    const everywhere = full || !scope.rules.local || changed.size > FULL_RESCAN_AT;
    let why: string | null = null;
    for (const el of everywhere ? scope.rescan() : scope.rescanWithin(changed)) {
      if (!insideAny(el, added)) why ??= "an element became masked";
    }
    for (const el of scope.masked()) {
      if (el.isConnected && !scope.rules.matchesMask(el) && !insideMasked(el, scope)) why ??= "an element is no longer masked";
    }
    if (why) this.onChange(why);
  }
}

function insideAny(node: Node, set: Set<Node>): boolean {
  for (let n: Node | null = node; n; n = maskParent(n)) if (set.has(n)) return true;
  return false;
}

/** An element that no longer matches itself but is inside another masked element is still masked. */
function insideMasked(el: Element, scope: MaskScope): boolean {
  for (let n = maskParent(el); n; n = maskParent(n)) if (isElement(n) && scope.rules.matchesMask(n)) return true;
  return false;
}
