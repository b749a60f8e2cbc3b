/**
 * The masking pass over every rrweb event, between the recorder and the outbox.
 *
 * rrweb's own block and mask options do most of the work (rrweb replaces a blocked element by an empty element
 * of the same size and skips its children), but they have known gaps, each closed here:
 * - a blocked `<iframe>`'s document is still serialized and attached, and a blocked shadow host's shadow root
 *   is still observed: adds under a blocked parent are dropped;
 * - attribute changes of nodes *inside* a blocked element (rrweb checks the node itself only) are dropped, as are
 *   text changes, style rules and media/canvas events of blocked nodes;
 * - a masked input keeps every attribute rrweb copies (placeholder, title, aria-label, data-*, a `value`
 *   attribute that React keeps equal to the typed value): only structural attributes stay, and its value is
 *   asterisks of its length; a masked textarea loses its text children (its default text);
 * - blocked elements are marked `rr-block` (the console draws them as a striped box) and inline ones are given
 *   `display: inline-block`, so the placeholder keeps the original's box in the agent's copy.
 * - an unmasked select whose chosen option is masked loses its value (and its input events);
 * - the console's canvas pictures (custom events of canvas.ts) go only for canvases that are not masked.
 * Anything referring to a node rrweb's mirror no longer knows is left alone: it carries no content.
 */

import { record } from "@rrweb/record";
import type { eventWithTime } from "@rrweb/types";
import { CANVAS_EVENT, GCID_ATTR } from "../canvas";
import { isElement } from "./rules";
import type { MaskScope } from "./scope";

const FULL_SNAPSHOT = 2;
const INCREMENTAL = 3;
const CUSTOM = 5;
const SOURCE = { mutation: 0, input: 5, media: 7, styleRule: 8, canvas: 9, styleDecl: 13, adopted: 15 } as const;
const ELEMENT_NODE_TYPE = 2; // rrweb's serialized NodeType.Element
const TEXT_NODE_TYPE = 3;

/** Attributes a masked input keeps: they shape the field, they hold nothing the visitor typed or the site wrote. */
const INPUT_KEEP = new Set([
  "type", "class", "id", "name", "style", "size", "rows", "cols", "maxlength", "minlength", "disabled", "readonly",
  "required", "autocomplete", "inputmode", "dir", "lang", "role", "tabindex", "hidden", "spellcheck", "wrap", "form",
  "width", "height", "data-rr-is-password",
]);

/**
 * Elements whose inline box already has the width and height it is given. Not canvas: in the console's replay
 * (a sandbox without scripts) a canvas is an ordinary inline box showing its fallback content, so its
 * placeholder is made an inline-block (bottom on the baseline, as a canvas's).
 */
const REPLACED = new Set(["img", "video", "audio", "iframe", "embed", "object", "input", "select", "textarea", "button", "svg", "picture", "meter", "progress"]);

const CSS_URL = /url\(\s*(?:"[^"]*"|'[^']*'|[^)]*)\s*\)/gi;

interface SerializedNode {
  type: number;
  id: number;
  tagName?: string;
  attributes?: Record<string, unknown>;
  childNodes?: SerializedNode[];
}

interface MutationData {
  source: number;
  adds: { parentId: number; nextId: number | null; node: SerializedNode }[];
  texts: { id: number; value: string | null }[];
  attributes: { id: number; attributes: Record<string, unknown> }[];
  removes: unknown[];
}

function nodeOf(id: unknown): Node | null {
  return typeof id === "number" ? (record.mirror.getNode(id) as Node | null) : null;
}

function stars(value: unknown): string {
  return "*".repeat(typeof value === "string" ? value.length : 0);
}

/** A style attribute without `url(...)` (images that would show what the field holds). */
function cleanStyle(style: unknown): unknown {
  if (typeof style === "string") return style.replace(CSS_URL, "none");
  if (style && typeof style === "object") {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(style as Record<string, unknown>)) {
      if (typeof value === "string") out[name] = value.replace(CSS_URL, "none");
      else if (Array.isArray(value)) out[name] = value.map((v) => (typeof v === "string" ? v.replace(CSS_URL, "none") : v));
      else out[name] = value;
    }
    return out;
  }
  return style;
}

/** Strips a masked input's attributes down to structure; `value` becomes asterisks of the live value's length. */
function maskInputAttributes(attrs: Record<string, unknown>, live: Element | null, full: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "style") out.style = cleanStyle(value);
    else if (INPUT_KEEP.has(name) || name.startsWith("rr_")) out[name] = value;
  }
  const liveValue = live && "value" in live ? (live as HTMLInputElement).value : "";
  if (full) {
    out.value = "*".repeat(liveValue.length);
  } else if ("value" in attrs) {
    out.value = attrs.value === null ? null : stars(attrs.value);
  }
  return out;
}

let measure: CanvasRenderingContext2D | null = null;

/**
 * Where an inline element's placeholder (an empty inline-block, whose baseline is its bottom edge) must sit
 * so that its box is where the element's was: the element's box ends its font's descent plus its bottom padding
 * and border below the baseline. Only for baseline-aligned elements; others get `text-bottom`.
 */
function inlineAlign(el: Element): string {
  try {
    const style = el.ownerDocument.defaultView?.getComputedStyle(el);
    if (!style || style.verticalAlign !== "baseline") return "text-bottom";
    measure ??= document.createElement("canvas").getContext("2d");
    if (!measure) return "text-bottom";
    measure.font = style.font || `${style.fontSize} ${style.fontFamily}`;
    const descent = measure.measureText("x").fontBoundingBoxDescent;
    const below = descent + parseFloat(style.paddingBottom) + parseFloat(style.borderBottomWidth);
    return Number.isFinite(below) ? `${(-below).toFixed(2)}px` : "text-bottom";
  } catch {
    return "text-bottom";
  }
}

/** Marks a blocked element's placeholder so that the console can draw it and it keeps its box. */
function markPlaceholder(node: SerializedNode): void {
  const attrs = node.attributes ?? (node.attributes = {});
  const cls = typeof attrs.class === "string" && attrs.class.trim() !== "" ? `${attrs.class} rr-block` : "rr-block";
  const kept: Record<string, unknown> = { class: cls, rr_width: attrs.rr_width, rr_height: attrs.rr_height };
  const live = nodeOf(node.id);
  if (isElement(live)) {
    try {
      const display = live.ownerDocument.defaultView?.getComputedStyle(live).display;
      // A non-replaced inline box ignores width and height: inline-block keeps them, and `text-bottom` puts its
      // bottom where the text's was. An element without a box stays without one.
      if (display === "inline" && live.localName === "canvas") kept.style = "display:inline-block";
      else if (display === "inline" && !REPLACED.has(live.localName)) kept.style = `display:inline-block;vertical-align:${inlineAlign(live)}`;
      else if (display === "none" || display === "contents") kept.style = `display:${display}`;
    } catch {
      // no computed style (detached): leave it
    }
  }
  if (isElement(live) && inShadowRoot(live)) {
    kept.style = `${typeof kept.style === "string" ? `${kept.style};` : ""}${SHADOW_PLACEHOLDER_STYLE}`;
  }
  node.attributes = kept;
  node.childNodes = [];
}

/**
 * The console's masked pattern is a stylesheet of the replayed document, which does not reach into shadow
 * roots: a placeholder inside one carries the same look inline (web/agent/masked.ts has the canonical rules).
 */
const SHADOW_PLACEHOLDER_STYLE =
  "box-sizing:border-box;background:repeating-linear-gradient(135deg,#c9ced6 0,#c9ced6 6px,#e4e7ec 6px,#e4e7ec 12px);" +
  "color:transparent;appearance:none;border-color:#b6bcc6";

function inShadowRoot(el: Element): boolean {
  const root = el.getRootNode();
  return root !== el.ownerDocument && root.nodeType === Node.DOCUMENT_FRAGMENT_NODE;
}

function isPlaceholder(node: SerializedNode): boolean {
  return node.type === ELEMENT_NODE_TYPE && !!node.attributes && "rr_width" in node.attributes;
}

/**
 * Sanitizes one serialized node and its serialized children in place. The caller has checked the node's
 * ancestors, so each node only checks itself (one Set lookup and one selector match per element).
 */
function sanitizeTree(node: SerializedNode, scope: MaskScope): void {
  if (node.type !== ELEMENT_NODE_TYPE) {
    for (const child of node.childNodes ?? []) sanitizeTree(child, scope);
    return;
  }
  if (isPlaceholder(node)) {
    markPlaceholder(node);
    return;
  }
  const live = nodeOf(node.id);
  if (!isElement(live)) {
    for (const child of node.childNodes ?? []) sanitizeTree(child, scope); // not in the mirror: its children still
    return;
  }
  if (scope.stickyBlocked.has(live) || scope.rules.matchesBlock(live)) {
    // Masked, but serialized with its content (it was unmasked when rrweb looked): keep only the box.
    const rect = live.getBoundingClientRect();
    node.attributes = { class: node.attributes?.class, rr_width: `${rect.width}px`, rr_height: `${rect.height}px` };
    markPlaceholder(node);
    return;
  }
  if ((node.tagName === "input" || node.tagName === "textarea") && scope.isMaskedInput(live)) {
    node.attributes = maskInputAttributes(node.attributes ?? {}, live, true);
    if (node.tagName === "textarea") node.childNodes = [];
    return;
  }
  if (node.tagName === "select" && node.attributes && selectsMaskedOption(live, scope)) delete node.attributes.value;
  for (const child of node.childNodes ?? []) sanitizeTree(child, scope);
}

/** An unmasked select whose chosen option is masked: its value would tell the option's. */
function selectsMaskedOption(el: Element, scope: MaskScope): boolean {
  if (el.localName !== "select") return false;
  return Array.from((el as HTMLSelectElement).selectedOptions).some((option) => scope.isBlocked(option));
}

function sanitizeMutation(data: MutationData, scope: MaskScope): void {
  const isBlocked = scope.blockedLookup(); // the event's nodes share ancestors: each is matched once
  data.adds = data.adds.filter((add) => {
    const parent = nodeOf(add.parentId);
    if (parent && isBlocked(parent)) return false;
    if (add.node.type === TEXT_NODE_TYPE && parent && isElement(parent) && parent.localName === "textarea" && scope.isMaskedInput(parent)) {
      return false;
    }
    sanitizeTree(add.node, scope);
    return true;
  });
  data.texts = data.texts.filter((text) => {
    const node = nodeOf(text.id);
    const parent = node?.parentNode ?? null;
    if (!node) return true;
    if (isBlocked(node)) return false;
    return !(parent && isElement(parent) && parent.localName === "textarea" && scope.isMaskedInput(parent));
  });
  data.attributes = data.attributes.filter((change) => {
    const node = nodeOf(change.id);
    if (!isElement(node)) return true;
    if (isBlocked(node)) return false;
    if (scope.isMaskedInput(node)) change.attributes = maskInputAttributes(change.attributes, node, false);
    else if (selectsMaskedOption(node, scope)) delete change.attributes.value;
    return true;
  });
}

/** A canvas's pixels (canvas.ts) go only for a canvas that is found and not masked. */
function customEvent(event: eventWithTime, scope: MaskScope): eventWithTime | null {
  const data = event.data as { tag?: unknown; payload?: { gcid?: unknown } };
  if (data.tag !== CANVAS_EVENT) return event;
  const gcid = data.payload?.gcid;
  if (typeof gcid !== "string") return null;
  for (const root of scope.roots) {
    const canvas = root.querySelector(`[${GCID_ATTR}="${CSS.escape(gcid)}"]`);
    if (canvas) return scope.isBlocked(canvas) ? null : event;
  }
  return null;
}

/** Returns the event with masked content removed (in place), or null when nothing of it may leave. */
export function sanitizeEvent(event: eventWithTime, scope: MaskScope): eventWithTime | null {
  if (event.type === FULL_SNAPSHOT) {
    sanitizeTree((event.data as { node: SerializedNode }).node, scope);
    return event;
  }
  if (event.type === CUSTOM) return customEvent(event, scope);
  if (event.type !== INCREMENTAL) return event;
  const data = event.data as { source: number; id?: number; text?: unknown; isChecked?: unknown };
  switch (data.source) {
    case SOURCE.mutation:
      sanitizeMutation(event.data as unknown as MutationData, scope);
      return event;
    case SOURCE.input: {
      const node = nodeOf(data.id);
      if (!isElement(node)) return null;
      if (scope.isBlocked(node) || selectsMaskedOption(node, scope)) return null;
      if (scope.isMaskedInput(node)) {
        data.text = stars(data.text);
        data.isChecked = false;
      }
      return event;
    }
    case SOURCE.media:
    case SOURCE.styleRule:
    case SOURCE.canvas:
    case SOURCE.styleDecl:
    case SOURCE.adopted: {
      const node = nodeOf(data.id);
      return node && scope.isBlocked(node) ? null : event;
    }
    default:
      return event;
  }
}
