/**
 * Draws the visitor's canvases in the live view, from the console page itself.
 *
 * The visitor SDK sends a canvas's pixels as an rrweb custom event (type 5, tag `cobrowse-canvas`, payload
 * {gcid, width, height, dataUrl | tainted | toolarge}; web/visitor/canvas.ts) when the site calls
 * `notifyChanged`. rrweb's own canvas replay would need scripts in the replay frame, which are never allowed;
 * instead this replayer plugin runs in the console's context when the event is applied, finds the replayed
 * `<canvas data-gcid=...>` in the (same-origin, script-less) replay frame, and draws the image onto it with the
 * console's own Image and 2D context. The data URL is checked to be an image data URL (the console's CSP allows
 * `data:` images), so nothing else is ever loaded. A tainted or too large canvas gets a neutral placeholder.
 * When two images for one canvas decode out of order, only the newest is drawn.
 */

import type { playerConfig } from "@rrweb/replay";

type Plugin = NonNullable<playerConfig["plugins"]>[number];

export const CANVAS_EVENT = "cobrowse-canvas";
const CUSTOM = 5;
const DATA_URL = /^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+/=]+$/;
const MAX_SIDE = 16384;

interface Payload {
  gcid?: unknown;
  width?: unknown;
  height?: unknown;
  dataUrl?: unknown;
  tainted?: unknown;
  toolarge?: unknown;
}

/** Latest draw request per replayed canvas (decoding is asynchronous). */
const generations = new WeakMap<HTMLCanvasElement, number>();

function side(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_SIDE ? value : null;
}

function sizeTo(canvas: HTMLCanvasElement, width: number | null, height: number | null): void {
  if (width !== null && canvas.width !== width) canvas.width = width;
  if (height !== null && canvas.height !== height) canvas.height = height;
}

/**
 * Makes the canvas's bitmap visible. In a document without scripting (the sandboxed replay frame) the browser
 * renders a `<canvas>` as its fallback content, never its bitmap, and sizes it as an empty inline box. So the
 * bitmap is also shown as the element's background, at the canvas's size (the page's own CSS size, when it
 * sets one, still applies through the stylesheet; these inline values only fill what the fallback lacks).
 */
function show(canvas: HTMLCanvasElement): void {
  const style = canvas.style;
  const view = canvas.ownerDocument.defaultView;
  const computed = view ? view.getComputedStyle(canvas) : null;
  if (!computed || computed.display === "inline") style.setProperty("display", "inline-block");
  const box = canvas.getBoundingClientRect();
  if (box.width < 2 || box.height < 2) {
    style.setProperty("width", `${canvas.width}px`);
    style.setProperty("height", `${canvas.height}px`);
  }
  style.setProperty("background", `url("${canvas.toDataURL()}") center / 100% 100% no-repeat`);
}

/** A neutral hatched panel saying the canvas cannot be shown. */
export function drawPlaceholder(canvas: HTMLCanvasElement, text: string): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const { width, height } = canvas;
  ctx.save();
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#e6e9ee";
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = "#cfd5dd";
  ctx.lineWidth = 2;
  for (let x = -height; x < width; x += 16) {
    ctx.beginPath();
    ctx.moveTo(x, height);
    ctx.lineTo(x + height, 0);
    ctx.stroke();
  }
  ctx.fillStyle = "#57606a";
  ctx.font = "14px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, width / 2, height / 2, Math.max(0, width - 8));
  ctx.restore();
  show(canvas);
}

/** Applies one `cobrowse-canvas` payload to the replayed document. */
export function drawCanvasEvent(doc: Document, payload: Payload): void {
  if (typeof payload.gcid !== "string" || payload.gcid === "") return;
  const found = doc.querySelector(`canvas[data-gcid="${CSS.escape(payload.gcid)}"]`);
  // The element is of the replay frame's realm: test it by name, never with instanceof.
  if (!found || found.localName !== "canvas") return;
  const canvas = found as HTMLCanvasElement;
  const generation = (generations.get(canvas) ?? 0) + 1;
  generations.set(canvas, generation);
  sizeTo(canvas, side(payload.width), side(payload.height));
  if (payload.tainted === true) {
    drawPlaceholder(canvas, "Canvas not shared (cross-origin content)");
    return;
  }
  if (payload.toolarge === true) {
    drawPlaceholder(canvas, "Canvas too large to share");
    return;
  }
  if (typeof payload.dataUrl !== "string" || !DATA_URL.test(payload.dataUrl)) return;
  const image = new Image();
  image.onload = () => {
    if (generations.get(canvas) !== generation) return;
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    show(canvas);
    canvas.setAttribute("data-cb-drawn", String(generation));
  };
  image.src = payload.dataUrl;
}

/** The replayer plugin: on each applied `cobrowse-canvas` custom event, draw it. */
export function canvasPlugin(): Plugin {
  return {
    handler(event, _isSync, { replayer }) {
      const e = event as unknown as { type: number; data?: { tag?: unknown; payload?: unknown } };
      if (e.type !== CUSTOM || e.data?.tag !== CANVAS_EVENT) return;
      const doc = replayer.iframe.contentDocument;
      const payload = e.data.payload;
      if (!doc || typeof payload !== "object" || payload === null) return;
      try {
        drawCanvasEvent(doc, payload as Payload);
      } catch (err) {
        console.warn("cobrowse: could not draw a canvas", err);
      }
    },
  };
}
