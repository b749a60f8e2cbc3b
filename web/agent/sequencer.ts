/**
 * The console's side of the protocol's epoch and sequence rules (docs/protocol.md), with no I/O.
 *
 * Every `events` frame carries a per-session `seq` and the recording's `epoch`. The console applies a frame only
 * when it continues exactly what it already shows; anything else would put rrweb node ids of one recording on
 * top of another, or skip a mutation and leave the view wrong for the rest of the epoch. A gap is healed by a
 * `resync` (the server then sends its current snapshot and what followed), and until that snapshot arrives the
 * frames are ignored.
 */

export type Verdict =
  /** A snapshot frame: start a new epoch (a new replayer) from it. */
  | "snapshot"
  /** The next frame of the current epoch: apply it. */
  | "apply"
  /** Seen before (seq <= last): ignore. */
  | "duplicate"
  /** Of an older epoch than the one shown: ignore. */
  | "stale"
  /** A gap was found just now: ask for a resync, ignore the frame. */
  | "gap"
  /** Waiting for a snapshot (at join, after a gap or a reconnect): ignore. */
  | "waiting";

export interface FrameHeader {
  seq: number;
  epoch: number;
  snapshot: boolean;
}

export class Sequencer {
  /** Epoch of the recording shown, null before the first snapshot. */
  epoch: number | null = null;
  /** Sequence number of the last frame applied, null before the first snapshot. */
  lastSeq: number | null = null;
  private awaitingSnapshot = true;

  /** Forget continuity (after a join or reconnect): the next snapshot frame is accepted whatever its epoch. */
  expectSnapshot(): void {
    this.awaitingSnapshot = true;
  }

  /** Back to the state before any frame (a new session). */
  reset(): void {
    this.epoch = null;
    this.lastSeq = null;
    this.awaitingSnapshot = true;
  }

  /** Decide what to do with a frame and update the state as if the caller does it. */
  accept(frame: FrameHeader): Verdict {
    if (this.epoch !== null && frame.epoch < this.epoch) return "stale";
    if (frame.snapshot) {
      if (this.awaitingSnapshot || this.lastSeq === null || frame.seq > this.lastSeq) {
        this.epoch = frame.epoch;
        this.lastSeq = frame.seq;
        this.awaitingSnapshot = false;
        return "snapshot";
      }
      return "duplicate";
    }
    if (this.awaitingSnapshot || this.lastSeq === null) return "waiting";
    if (frame.seq <= this.lastSeq) return "duplicate";
    if (frame.seq !== this.lastSeq + 1 || frame.epoch !== this.epoch) {
      this.awaitingSnapshot = true;
      return "gap";
    }
    this.lastSeq = frame.seq;
    return "apply";
  }
}
