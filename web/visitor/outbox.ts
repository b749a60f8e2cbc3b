/**
 * Batches rrweb events into `events` frames with the session's sequence number and recording epoch.
 *
 * - Batching: events wait at most BATCH_MS (~50 ms) so a burst of mutations costs one frame, while a pointer
 *   move still reaches the agent well within 100 ms.
 * - Epochs follow rrweb itself: every full snapshot begins with a Meta event (type 4) followed by the
 *   FullSnapshot (type 2). A Meta starts a new epoch, so the first frame of each epoch is `snapshot: true`
 *   with data starting Meta + FullSnapshot, whoever asked for the snapshot. Events that arrive before the
 *   first Meta of a recording (rrweb's DomContentLoaded/Load markers) belong to no epoch and are dropped.
 * - Typing: rrweb emits the whole field value on every keystroke; within one batch only the last value of
 *   each field is kept (the agent sees the field as it is, one batch later at most).
 * - Sequence numbers are given when a frame is actually sent, so dropping frames never leaves a gap.
 * - Bounded: frames wait only while the socket cannot take them (not open, or the browser's send buffer
 *   above HIGH_WATER_BYTES). Overflow policy: past MAX_PENDING_BYTES everything pending is dropped and,
 *   once the socket can send again, a fresh full snapshot is requested, which starts a new epoch; the
 *   agent then sees the current page instead of a stale backlog.
 * - Masking: a masked page's epoch is one `masked: true` snapshot frame (`pushMasked`), and every other batch
 *   passes the sink's `check` (the masking guard) just before it is encoded and sent.
 * Nothing here touches the network: frames go to the `sink`.
 */

import type { eventWithTime } from "@rrweb/types";

export const BATCH_MS = 50;
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;
export const HIGH_WATER_BYTES = 4 * 1024 * 1024;

const META = 4;
const INCREMENTAL = 3;
const INPUT_SOURCE = 5;

export interface OutboxSink {
  /** Sends one encoded frame; false when it could not be sent. */
  sendFrame(text: string): boolean;
  /** True when the socket is open and its send buffer is below the high-water mark. */
  canSend(): boolean;
  /** Called just before the first frame of an epoch goes out (the session sends `page` then). */
  /** Called before each snapshot frame goes out (`masked`: the frame of a masked page's epoch). */
  beforeSnapshot(masked: boolean): void;
  /** Asks the recorder for a fresh full snapshot (after an overflow). */
  requestSnapshot(): void;
  /**
   * The masking guard's last look at a batch's encoded events, just before it is sent (masking/guard.ts):
   * returns the events that may go, or null to drop the whole batch.
   */
  check?(parts: string[], snapshot: boolean): string[] | null;
}

interface Batch {
  epoch: number;
  snapshot: boolean;
  /** A masked page's snapshot: its data holds only a Meta with the viewport size. */
  masked?: boolean;
  /** Encoded events; null where a later value of the same input replaced one. */
  parts: (string | null)[];
  /** Index in `parts` of the last Input event of each node id. */
  inputs: Map<number, number>;
}

function newBatch(epoch: number, snapshot: boolean): Batch {
  return { epoch, snapshot, parts: [], inputs: new Map() };
}

/** The node id of an rrweb Input event, else null. */
function inputId(event: eventWithTime): number | null {
  if (event.type !== INCREMENTAL) return null;
  const data = event.data as { source?: unknown; id?: unknown };
  return data.source === INPUT_SOURCE && typeof data.id === "number" ? data.id : null;
}

export class Outbox {
  private epoch = 0;
  private nextSeq = 1;
  private inEpoch = false;
  private current: Batch | null = null;
  private ready: Batch[] = [];
  private pendingBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private needSnapshot = false;
  /** Frames dropped by the overflow policy since the session started (for diagnostics). */
  dropped = 0;

  constructor(private readonly sink: OutboxSink) {}

  /** Continues after the server's position (`started`/`resumed`): next epoch `epoch + 1`, next frame `seq + 1`. */
  reset(epoch: number, seq: number): void {
    this.clear();
    this.epoch = epoch;
    this.nextSeq = seq + 1;
    this.inEpoch = false;
    this.needSnapshot = false;
  }

  push(event: eventWithTime): void {
    if (event.type === META) {
      this.seal();
      this.epoch += 1;
      this.inEpoch = true;
      this.needSnapshot = false;
      this.current = newBatch(this.epoch, true);
    } else if (!this.inEpoch) {
      return;
    }
    const text = JSON.stringify(event);
    const batch = this.current ?? (this.current = newBatch(this.epoch, false));
    const id = inputId(event);
    if (id !== null) {
      const previous = batch.inputs.get(id);
      if (previous !== undefined) {
        this.pendingBytes -= batch.parts[previous]?.length ?? 0;
        batch.parts[previous] = null;
      }
      batch.inputs.set(id, batch.parts.length);
    }
    batch.parts.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes > MAX_PENDING_BYTES) {
      this.flush();
      if (this.pendingBytes > MAX_PENDING_BYTES) this.overflow();
      return;
    }
    this.schedule(BATCH_MS);
  }

  /**
   * Starts a new epoch for a masked page: one snapshot frame (`masked: true`) whose data is a Meta event with
   * the viewport's size and nothing else; events that follow are dropped until the next real snapshot.
   */
  pushMasked(): void {
    this.seal();
    this.epoch += 1;
    this.inEpoch = false;
    this.needSnapshot = false;
    const meta = JSON.stringify({ type: META, data: { width: innerWidth, height: innerHeight }, timestamp: Date.now() });
    this.ready.push({ epoch: this.epoch, snapshot: true, masked: true, parts: [meta], inputs: new Map() });
    this.pendingBytes += meta.length;
    this.schedule(0);
  }

  /** Sends everything that can be sent now; the rest waits for the socket. */
  flush(): void {
    this.clearTimer();
    this.seal();
    while (this.ready.length > 0 && this.sink.canSend()) {
      const batch = this.ready[0];
      let parts = batch.parts.filter((p): p is string => p !== null);
      if (!batch.masked && this.sink.check) {
        const checked = this.sink.check(parts, batch.snapshot);
        if (checked === null || (batch.snapshot && checked.length < 2)) {
          // Dropped by the masking guard: nothing of it leaves; the batch is gone.
          this.ready.shift();
          for (const part of batch.parts) this.pendingBytes -= part?.length ?? 0;
          continue;
        }
        parts = checked;
      }
      if (batch.snapshot) this.sink.beforeSnapshot(batch.masked === true);
      const frame =
        `{"v":1,"t":"events","seq":${this.nextSeq},"epoch":${batch.epoch},` +
        `"snapshot":${batch.snapshot},${batch.masked ? '"masked":true,' : ""}"data":[${parts.join(",")}]}`;
      if (!this.sink.sendFrame(frame)) break;
      this.nextSeq += 1;
      this.ready.shift();
      for (const part of batch.parts) this.pendingBytes -= part?.length ?? 0;
    }
    if (this.needSnapshot && this.sink.canSend()) {
      this.needSnapshot = false;
      this.sink.requestSnapshot();
    }
    if (this.ready.length > 0 || this.needSnapshot) this.schedule(BATCH_MS);
  }

  /** Drops everything (the session ended or the socket is being replaced). */
  clear(): void {
    this.clearTimer();
    this.current = null;
    this.ready = [];
    this.pendingBytes = 0;
  }

  private overflow(): void {
    this.dropped += this.ready.length + (this.current ? 1 : 0);
    this.clear();
    // Until the next Meta, events would refer to nodes the agent never received: drop them too.
    this.inEpoch = false;
    this.needSnapshot = true;
    this.schedule(BATCH_MS);
  }

  private seal(): void {
    if (this.current && this.current.parts.length > 0) this.ready.push(this.current);
    this.current = null;
  }

  private schedule(ms: number): void {
    if (this.timer === null) this.timer = setTimeout(() => this.flush(), ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
