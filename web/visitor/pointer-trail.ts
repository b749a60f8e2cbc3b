/**
 * The pointer's resting position, which rrweb can drop.
 *
 * rrweb 2.1.6 samples pointer moves with a leading-edge throttle (`trailing: false`): when the pointer comes to
 * rest less than one sampling interval after the last recorded move, its final position is never recorded and
 * the agent's cursor stops short of where the visitor's pointer is. This adds that position: `REST_MS` after
 * the last move, one MouseMove event with the resting point, emitted through the same path as rrweb's own
 * events (so masking, pause and the outbox apply to it as to any other event). When the last position the
 * agent got (a recorded move or click) is the resting point already, nothing is added: a frame of its own for
 * a position the agent has is a waste on the wire.
 */

import { record } from "@rrweb/record";
import type { eventWithTime } from "@rrweb/types";

const INCREMENTAL_SNAPSHOT = 3;
const MOUSE_MOVE = 1;
const MOUSE_INTERACTION = 2;
/** Longer than rrweb's sampling interval (50 ms), so a position rrweb does record comes first. */
export const REST_MS = 80;

export class PointerTrail {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private last: { x: number; y: number; target: EventTarget | null } | null = null;
  /** The pointer position the agent got last (from any recorded move or click), rounded to pixels. */
  private shown: { x: number; y: number } | null = null;
  private readonly onMove = (event: MouseEvent): void => {
    const path = typeof event.composedPath === "function" ? event.composedPath() : [];
    this.last = { x: event.clientX, y: event.clientY, target: path[0] ?? event.target };
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.rest(), REST_MS);
  };

  constructor(private readonly emit: (event: eventWithTime) => void) {}

  start(): void {
    document.addEventListener("mousemove", this.onMove, { capture: true, passive: true });
  }

  stop(): void {
    document.removeEventListener("mousemove", this.onMove, { capture: true });
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.last = null;
  }

  /** Call with every recorded event: notes where it puts the agent's cursor. */
  saw(event: eventWithTime): void {
    if (event.type !== INCREMENTAL_SNAPSHOT) return;
    const data = event.data as { source?: number; positions?: { x: number; y: number }[]; x?: unknown; y?: unknown };
    if (data.source === MOUSE_MOVE && data.positions && data.positions.length > 0) {
      const at = data.positions[data.positions.length - 1];
      this.shown = { x: Math.round(at.x), y: Math.round(at.y) };
    } else if (data.source === MOUSE_INTERACTION && typeof data.x === "number" && typeof data.y === "number") {
      this.shown = { x: Math.round(data.x), y: Math.round(data.y) };
    }
  }

  private rest(): void {
    this.timer = null;
    const last = this.last;
    if (!last || !last.target) return;
    if (this.shown && this.shown.x === Math.round(last.x) && this.shown.y === Math.round(last.y)) return;
    const id = record.mirror.getId(last.target as Node);
    if (id <= 0) return; // not a recorded node (our own UI, or not serialized yet)
    this.emit({
      type: INCREMENTAL_SNAPSHOT,
      data: { source: MOUSE_MOVE, positions: [{ x: last.x, y: last.y, id, timeOffset: 0 }] },
      timestamp: Date.now(),
    } as eventWithTime);
  }
}
