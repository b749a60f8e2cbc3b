/**
 * Addressing for remote control: which node of the replay is under the agent's pointer, as the visitor's page
 * knows it (an rrweb node id of the epoch shown, and the point as fractions of that node's box).
 *
 * The replay iframe is scaled with a CSS transform and centred in the stage (viewer.ts `fit()`), so a point of
 * the console is first brought into the iframe's viewport (minus the iframe's box, divided by the scale); the
 * replay document's own scroll needs nothing more, since `elementFromPoint` works in viewport coordinates.
 * The hit test descends into open shadow roots (rrweb rebuilds shadow DOM as open roots), not into nested
 * frames: the visitor's page acts only on its own document tree (web/visitor/rc-guard.ts), so a frame is one
 * element. The replay's nodes belong to another realm: they are told apart by `nodeType` and `localName`,
 * never with `instanceof`.
 */

import type { Viewer } from "./viewer";

/** Where a replay document's viewport is on the console's screen: its origin (client coordinates) and scale. */
interface ViewportPlacement {
  originX: number;
  originY: number;
  scale: number;
}

/** A node of the replay under a point: its rrweb id, the point inside its box (0..1), and the element. */
export interface ReplayTarget {
  id: number;
  x: number;
  y: number;
  element: Element;
  /** Where the element's document is shown (for `screenRect`). */
  placement: ViewportPlacement;
}

/** A caret position of the replay (for `selecttext`): a node's rrweb id and an offset in it. */
export interface ReplayCaret {
  id: number;
  offset: number;
}

/** Where a console point falls in the replay document. */
interface Hit extends ViewportPlacement {
  element: Element;
  /** The point in the replay document's viewport coordinates. */
  x: number;
  y: number;
  doc: Document;
  /** The shadow roots passed on the way (for caretPositionFromPoint). */
  shadowRoots: ShadowRoot[];
}

/** The parts of caretPositionFromPoint that Chromium has (typed here: older DOM typings lack the options). */
type CaretPositionFromPoint = (
  x: number,
  y: number,
  options?: { shadowRoots?: ShadowRoot[] },
) => { offsetNode: Node; offset: number } | null;

function fraction(value: number, start: number, size: number): number {
  if (!(size > 0)) return 0.5;
  return Math.min(1, Math.max(0, (value - start) / size));
}

export class ReplayAddress {
  constructor(private readonly viewer: Viewer) {}

  /** The replay node under a console point, or null (outside the page, no replay, or a node rrweb did not build). */
  target(clientX: number, clientY: number): ReplayTarget | null {
    const hit = this.hit(clientX, clientY);
    if (!hit) return null;
    // Nodes the replayer added itself have no id: the nearest ancestor that has one stands for them.
    for (let el: Element | null = hit.element; el; el = parentElement(el)) {
      const id = this.viewer.nodeId(el);
      if (id > 0) {
        const box = el.getBoundingClientRect();
        const placement = { originX: hit.originX, originY: hit.originY, scale: hit.scale };
        const [x, y] = [fraction(hit.x, box.left, box.width), fraction(hit.y, box.top, box.height)];
        return { id, x, y, element: el, placement };
      }
    }
    return null;
  }

  /** The caret position of the replay at a console point (a text node and offset, usually), or null. */
  caret(clientX: number, clientY: number): ReplayCaret | null {
    const hit = this.hit(clientX, clientY);
    if (!hit) return null;
    const doc = hit.doc as Document & { caretPositionFromPoint?: CaretPositionFromPoint };
    let node: Node | null = null;
    let offset = 0;
    if (typeof doc.caretPositionFromPoint === "function") {
      const pos = doc.caretPositionFromPoint(hit.x, hit.y, { shadowRoots: hit.shadowRoots });
      if (pos) [node, offset] = [pos.offsetNode, pos.offset];
    } else if (typeof doc.caretRangeFromPoint === "function") {
      const range = doc.caretRangeFromPoint(hit.x, hit.y);
      if (range) [node, offset] = [range.startContainer, range.startOffset];
    }
    const id = node ? this.viewer.nodeId(node) : -1;
    return id > 0 ? { id, offset } : null;
  }

  /** An element's box of the replay in console (client) coordinates, e.g. to place a popup under a select. */
  screenRect(target: ReplayTarget): DOMRect {
    const { originX, originY, scale } = target.placement;
    const r = target.element.getBoundingClientRect();
    return new DOMRect(originX + r.left * scale, originY + r.top * scale, r.width * scale, r.height * scale);
  }

  /** The innermost element at a console point, descending into open shadow roots. */
  private hit(clientX: number, clientY: number): Hit | null {
    const frame = this.viewer.frame();
    const doc = frame?.contentDocument;
    if (!frame || !doc?.documentElement || !frame.offsetWidth) return null;
    const box = frame.getBoundingClientRect();
    const scale = box.width / frame.offsetWidth;
    if (!(scale > 0)) return null;
    const originX = box.left + frame.clientLeft * scale;
    const originY = box.top + frame.clientTop * scale;
    const x = (clientX - originX) / scale;
    const y = (clientY - originY) / scale;
    if (x < 0 || y < 0 || x > frame.clientWidth || y > frame.clientHeight) return null;
    const shadowRoots: ShadowRoot[] = [];
    let element = doc.elementFromPoint(x, y);
    for (let depth = 0; element?.shadowRoot && depth < 32; depth++) {
      const root: ShadowRoot = element.shadowRoot;
      const inner = root.elementFromPoint(x, y);
      if (!inner || inner === element) break;
      shadowRoots.push(root);
      element = inner;
    }
    if (!element) return null;
    return { element, x, y, doc, shadowRoots, originX, originY, scale };
  }
}

/** The parent element, crossing out of a shadow root to its host. */
function parentElement(el: Element): Element | null {
  if (el.parentElement) return el.parentElement;
  const root = el.parentNode;
  return root && root.nodeType === Node.DOCUMENT_FRAGMENT_NODE ? ((root as ShadowRoot).host ?? null) : null;
}
