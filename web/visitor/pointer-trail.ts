/**
 * The pointer's resting position, which rrweb can drop.
 *
 * rrweb 2.1.6 samples pointer moves with a leading-edge throttle (`trailing: false`): when the pointer comes to
 * rest less than one sampling interval after the last recorded move, its final position is never recorded and
 * the agent's cursor stops short of where the visitor's pointer is. This adds that position: `REST_MS` after
 * the last move, one MouseMove event with the resting point, emitted through the same path as rrweb's own
 * events (so masking, pause and the outbox apply to it as to any other event).
 */

import { record } from "@rrweb/record";
import type { eventWithTime } from "@rrweb/types";

const INCREMENTAL_SNAPSHOT = 3;
const MOUSE_MOVE = 1;
/** Longer than rrweb's sampling interval (50 ms), so a position rrweb does record comes first. */
export const REST_MS = 80;

export class PointerTrail {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private last: { x: number; y: number; target: EventTarget | null } | null = null;
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

  private rest(): void {
    this.timer = null;
    const last = this.last;
    if (!last || !last.target) return;
    const id = record.mirror.getId(last.target as Node);
    if (id <= 0) return; // not a recorded node (our own UI, or not serialized yet)
    this.emit({
      type: INCREMENTAL_SNAPSHOT,
      data: { source: MOUSE_MOVE, positions: [{ x: last.x, y: last.y, id, timeOffset: 0 }] },
      timestamp: Date.now(),
    } as eventWithTime);
  }
}
