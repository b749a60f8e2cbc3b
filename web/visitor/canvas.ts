/**
 * Canvas elements: every `<canvas>` of the page gets a unique `data-gcid`, and
 * `Visitor.notifyChanged({canvas: {gcids: [...]}})` sends the named canvases' current pixels to the agents.
 *
 * Why this way: rrweb only mirrors a canvas's pixels by replaying drawing calls, which needs scripts in the
 * agent's replay frame, and that must never be allowed. Instead the pixels go as an rrweb custom event
 * (`cobrowse-canvas`: {gcid, dataUrl, width, height}) through the normal capture path (so a pause stops them
 * like any other page change) and the console draws the image onto the replayed canvas with that `data-gcid`
 * from its own page (web/agent/canvas.ts). The attribute is part of the page, so it is mirrored as usual.
 *
 * - Ids: assigned when the SDK loads, and to canvases added later (a MutationObserver); a copied canvas that
 *   carries another canvas's id gets a new one. Ids are unique within the page.
 * - A canvas tainted by cross-origin images (toDataURL throws SecurityError) is sent as a placeholder marker
 *   ({gcid, tainted: true}); the console draws a neutral placeholder.
 * - A canvas the agents must not see (inside a masked or no-content element, or on a masked page: the
 *   `isHidden` check) sends nothing at all.
 * - Size: a PNG over MAX_DATA_URL characters is sent as JPEG instead; still too large, a placeholder
 *   ({gcid, toolarge: true}).
 * - Every full snapshot (a new page epoch, an unpause) re-sends the canvases notified before, so a late
 *   joiner or a fresh recording shows them too.
 * - Outside a session, or while paused, notifyChanged does nothing (as the API's own example expects).
 */

import { record } from "@rrweb/record";
import { VisitorError } from "./keys";

export const CANVAS_EVENT = "cobrowse-canvas";
export const GCID_ATTR = "data-gcid";
export const MAX_DATA_URL = 2 * 1024 * 1024;

export interface CanvasPayload {
  gcid: string;
  width: number;
  height: number;
  dataUrl?: string;
  tainted?: true;
  toolarge?: true;
}

export interface CanvasDeps {
  /** True when a recording is running for a live session (custom events can be added). */
  recording(): boolean;
  /** True when the element's content must not leave the page (masking, no-content, masked page). */
  isHidden(el: Element): boolean;
}

function isSecurityError(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { name?: unknown }).name === "SecurityError";
}

/** The canvas's pixels as a data URL within MAX_DATA_URL, or a marker saying why not. */
export function canvasPayload(canvas: HTMLCanvasElement, gcid: string): CanvasPayload {
  const base = { gcid, width: canvas.width, height: canvas.height };
  try {
    let dataUrl = canvas.toDataURL("image/png");
    if (dataUrl.length > MAX_DATA_URL) dataUrl = canvas.toDataURL("image/jpeg", 0.8);
    if (dataUrl.length > MAX_DATA_URL) return { ...base, toolarge: true };
    return { ...base, dataUrl };
  } catch (err) {
    if (isSecurityError(err)) return { ...base, tainted: true };
    throw err;
  }
}

export class CanvasTracker {
  private next = 1;
  private readonly prefix = Math.random().toString(36).slice(2, 6);
  /** The id each canvas was given or found with (to spot copies that carry another canvas's id). */
  private readonly ids = new WeakMap<HTMLCanvasElement, string>();
  /** Ids named in notifyChanged, re-sent after each full snapshot. */
  private readonly notified = new Set<string>();
  private observer: MutationObserver | null = null;

  constructor(private readonly deps: CanvasDeps) {}

  /** Gives every canvas an id now and watches for new ones. */
  start(): void {
    const begin = (): void => {
      this.scan(document);
      if (this.observer) return;
      this.observer = new MutationObserver((records) => this.onRecords(records));
      this.observer.observe(document.documentElement, {
        childList: true,
        subtree: true,
        attributes: true,
        attributeFilter: [GCID_ATTR],
      });
    };
    if (document.documentElement) begin();
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => this.scan(document));
  }

  /** notifyChanged: validates the argument, then sends the named canvases (when in a recorded session). */
  notify(gcids: string[]): void {
    for (const gcid of gcids) this.notified.add(gcid);
    if (!this.deps.recording()) return;
    for (const gcid of gcids) this.send(gcid);
  }

  /** A new full snapshot: the replay's canvases are blank again, so draw them again. */
  resend(): void {
    if (this.notified.size === 0) return;
    // After the snapshot's own processing (this runs inside rrweb's emit).
    queueMicrotask(() => {
      if (!this.deps.recording()) return;
      for (const gcid of Array.from(this.notified)) this.send(gcid);
    });
  }

  /** Forgets notified canvases (the session ended). */
  clear(): void {
    this.notified.clear();
  }

  private send(gcid: string): void {
    const canvas = this.find(gcid);
    if (!canvas) {
      this.notified.delete(gcid);
      return;
    }
    if (this.deps.isHidden(canvas)) return;
    let payload: CanvasPayload;
    try {
      payload = canvasPayload(canvas, gcid);
    } catch (err) {
      console.warn(`cobrowse: cannot read canvas ${gcid}`, err);
      return;
    }
    try {
      record.addCustomEvent(CANVAS_EVENT, payload);
    } catch {
      // Not recording (paused, or the recording is being replaced): the next snapshot re-sends it.
    }
  }

  private find(gcid: string): HTMLCanvasElement | null {
    const el = document.querySelector(`canvas[${GCID_ATTR}="${CSS.escape(gcid)}"]`);
    return el instanceof HTMLCanvasElement ? el : null;
  }

  /**
   * New canvases and copied ids. Runs on every change of the page (a busy page: thousands of records a
   * second), so it allocates nothing and looks only at added elements: text changes cost a type check each.
   */
  private onRecords(records: MutationRecord[]): void {
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (r.type === "attributes") {
        this.assign(r.target as Element);
        continue;
      }
      const added = r.addedNodes;
      for (let j = 0; j < added.length; j++) {
        const node = added[j];
        if (node.nodeType === Node.ELEMENT_NODE) this.scan(node as Element);
      }
    }
  }

  private scan(root: Document | Element): void {
    if (root.nodeType === Node.ELEMENT_NODE) {
      this.assign(root as Element);
      if ((root as Element).firstElementChild === null) return; // a leaf: nothing inside it
    }
    const canvases = root.getElementsByTagName("canvas");
    for (let i = 0; i < canvases.length; i++) this.assign(canvases[i]);
  }

  private assign(el: Element): void {
    if (!(el instanceof HTMLCanvasElement)) return;
    const current = el.getAttribute(GCID_ATTR);
    if (current) {
      if (this.ids.get(el) === current) return;
      const others = document.querySelectorAll(`canvas[${GCID_ATTR}="${CSS.escape(current)}"]`);
      if (others.length <= 1 || !el.isConnected) {
        this.ids.set(el, current);
        return;
      }
      // A copy of another canvas (cloneNode, innerHTML): it needs an id of its own.
    }
    const gcid = `${this.prefix}${this.next++}`;
    this.ids.set(el, gcid);
    el.setAttribute(GCID_ATTR, gcid);
  }
}

/** Checks notifyChanged's argument: `{canvas: {gcids: [string, ...]}}`; throws a clear Error otherwise. */
export function checkNotifyArg(arg: unknown): string[] {
  const usage = 'notifyChanged takes {canvas: {gcids: ["<data-gcid>", ...]}}';
  if (typeof arg !== "object" || arg === null) throw new VisitorError("invalidparams", `cobrowse: ${usage}`);
  const canvas = (arg as { canvas?: unknown }).canvas;
  if (canvas === undefined) return [];
  if (typeof canvas !== "object" || canvas === null) throw new VisitorError("invalidparams", `cobrowse: ${usage}`);
  const gcids = (canvas as { gcids?: unknown }).gcids;
  if (!Array.isArray(gcids) || !gcids.every((id) => typeof id === "string" && id !== "")) {
    throw new VisitorError("invalidparams", `cobrowse: ${usage}; every gcid must be a non-empty string`);
  }
  return gcids as string[];
}
