/**
 * Batches rrweb events into `events` frames with the session's sequence number and recording epoch.
 *
 * - Batching: a frame goes out when the task that produced its events is over (a 0 ms timer), unless one went
 *   out less than BATCH_MS (16 ms, one animation frame) before: then it goes out BATCH_MS after that one. An
 *   isolated change or pointer move reaches the agent within a few milliseconds, and a page that changes on
 *   every animation frame costs at most one frame per animation frame (bench/e2e_latency.py: a change in the
 *   agent's replay p50 <= 20 ms, p99 <= 50 ms, also while the page is busy).
 * - Pointer, scroll and click events are less urgent: a batch that holds only such events goes out no sooner
 *   than LAZY_MS after the last such batch (and BATCH_MS after any frame). A pointer moving steadily (rrweb
 *   hands over a position every 50 ms) then costs one frame per LAZY_MS rather than one per position, and each
 *   frame's fixed cost on the wire (WebSocket header, envelope, deflate flush: about 18 of a lone pointer
 *   move's 30 bytes) is paid half as often (bench/wire_bytes.py). The price: while the pointer keeps moving,
 *   the agent's cursor trails by up to LAZY_MS more. A move after a pause still goes out at once
 *   (bench/e2e_latency.py: pointer p99 <= 100 ms), and any other event takes the batch, pointer moves and all,
 *   out at the normal pace.
 * - Epochs follow rrweb itself: every full snapshot begins with a Meta event (type 4) followed by the
 *   FullSnapshot (type 2). A Meta starts a new epoch, so the first frame of each epoch is `snapshot: true`
 *   with data starting Meta + FullSnapshot, whoever asked for the snapshot. Events that arrive before the
 *   first Meta of a recording (rrweb's DomContentLoaded/Load markers) belong to no epoch and are dropped.
 * - Typing: rrweb emits the whole field value on every keystroke; within one batch only the last value of
 *   each field is kept (the agent sees the field as it is, one batch later at most).
 * - Sequence numbers are given when a frame is actually sent, so dropping frames never leaves a gap.
 * - Waiting: frames wait while the socket cannot take them (not open: a network drop, a server restart; or the
 *   browser's send buffer above HIGH_WATER_BYTES). Meanwhile the batch being filled is not sealed, so typing
 *   offline costs one frame with each field's last value, not one per keystroke.
 * - Resending: a frame that went out may still be lost with the socket (in the browser's send buffer, or in
 *   flight when the connection broke). The last frames sent are kept (at most KEEP_SENT_FRAMES frames and
 *   KEEP_SENT_BYTES bytes, the oldest forgotten first). After a reconnect of the same page, `resumeAt(epoch,
 *   seq)` with the server's position resends every kept frame after `seq`, unchanged, and numbering continues:
 *   the agent sees every event, in order, in the same epoch. When the kept frames do not reach back to the
 *   server's position, or it is not one this page sent (another tab was shown meanwhile), it returns false and
 *   the session takes a fresh full snapshot instead (as it does after a server restart, whose log is gone).
 * - Bounded: overflow policy: past MAX_PENDING_BYTES of unsent frames everything unsent is dropped and,
 *   once the socket can send again, a fresh full snapshot is requested, which starts a new epoch; the
 *   agent then sees the current page instead of a stale backlog. (Kept frames are resent first: they and the
 *   snapshot still number without a gap.)
 * - Masking: a masked page's epoch is one `masked: true` snapshot frame (`pushMasked`), and every other batch
 *   passes the sink's `check` (the masking guard) just before it is encoded and sent.
 * Nothing here touches the network: frames go to the `sink`.
 */

import type { eventWithTime } from "@rrweb/types";

export const BATCH_MS = 16;
/** The pace of batches that hold only pointer, scroll and click events (see "Pointer, scroll and click"). */
export const LAZY_MS = 100;
/** How long frames wait before another try while the socket cannot take them. */
export const RETRY_MS = 50;
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;
export const HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Frames already sent that are kept to be resent after a reconnect: at most this many, and this many bytes. */
export const KEEP_SENT_FRAMES = 2000;
export const KEEP_SENT_BYTES = 4 * 1024 * 1024;

const META = 4;
const INCREMENTAL = 3;
const INPUT_SOURCE = 5;
/** rrweb's incremental sources that may wait LAZY_MS: MouseMove, MouseInteraction, Scroll, TouchMove, Drag. */
const LAZY_SOURCES = new Set([1, 2, 3, 6, 12]);

/** What an `events` frame says about itself (its envelope). */
export interface FrameHead {
  seq: number;
  epoch: number;
  snapshot: boolean;
  /** A masked page's snapshot: nothing of the page in it. */
  masked: boolean;
}

export interface OutboxSink {
  /**
   * Sends one encoded frame (described by `head`); false when it could not be sent. `resent`: a kept frame
   * sent again after a reconnect (it was accounted for when it first went out).
   */
  sendFrame(text: string, head: FrameHead, resent: boolean): boolean;
  /** True when the socket is open and its send buffer is below the high-water mark. */
  canSend(): boolean;
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
  /** Holds an event other than pointer, scroll and click ones: it goes out BATCH_MS after the last frame. */
  urgent: boolean;
}

function newBatch(epoch: number, snapshot: boolean): Batch {
  return { epoch, snapshot, parts: [], inputs: new Map(), urgent: snapshot };
}

/** True for the events a batch may hold LAZY_MS (pointer, scroll, click). */
function isLazy(event: eventWithTime): boolean {
  return event.type === INCREMENTAL && LAZY_SOURCES.has((event.data as { source?: number }).source ?? -1);
}

/** The node id of an rrweb Input event, else null. */
function inputId(event: eventWithTime): number | null {
  if (event.type !== INCREMENTAL) return null;
  const data = event.data as { source?: unknown; id?: unknown };
  return data.source === INPUT_SOURCE && typeof data.id === "number" ? data.id : null;
}

/** A frame that went out, kept in case the socket lost it. */
interface SentFrame extends FrameHead {
  text: string;
}

export class Outbox {
  private epoch = 0;
  private nextSeq = 1;
  /** The epoch of the last frame sent (or of the server's position when nothing was sent since). */
  private sentEpoch = 0;
  /** The last frames sent, oldest first, with consecutive `seq` (see "Resending"). */
  private kept: SentFrame[] = [];
  private keptBytes = 0;
  private inEpoch = false;
  private current: Batch | null = null;
  private ready: Batch[] = [];
  private pendingBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the timer fires (`performance.now()`), and whether it waits for a lazy batch (see `schedule`). */
  private timerDue = 0;
  private timerLazy = false;
  private needSnapshot = false;
  /** When the last flush ran (`performance.now()`): the next frame goes out BATCH_MS after it at the earliest. */
  private lastFlush = Number.NEGATIVE_INFINITY;
  /** When the last batch of only pointer, scroll and click events went out (`performance.now()`). */
  private lastLazyFrame = Number.NEGATIVE_INFINITY;
  /** Frames dropped by the overflow policy since the session started (for diagnostics). */
  dropped = 0;

  constructor(private readonly sink: OutboxSink) {}

  /**
   * Starts over after the server's position (`started`/`resumed`, a tab shown again, a failed `resumeAt`):
   * next epoch `epoch + 1`, next frame `seq + 1`; everything unsent or kept is dropped.
   */
  reset(epoch: number, seq: number): void {
    this.clear();
    this.forgetSent();
    this.epoch = epoch;
    this.sentEpoch = epoch;
    this.nextSeq = seq + 1;
    this.inEpoch = false;
    this.needSnapshot = false;
  }

  /**
   * The same page reconnected and the server holds everything up to (`epoch`, `seq`). If that is a position
   * this page sent and the kept frames cover everything after it, they are resent now, in order, and the
   * numbering goes on (true). Otherwise nothing is sent (false): the caller starts over with `reset` and a
   * fresh snapshot. The socket must be able to send.
   */
  resumeAt(epoch: number, seq: number): boolean {
    const last = this.nextSeq - 1;
    let from = this.kept.length;
    if (seq === last) {
      if (epoch !== this.sentEpoch) return false;
    } else {
      from = this.kept.findIndex((f) => f.seq === seq + 1);
      if (seq > last || from < 0) return false;
      const first = this.kept[from];
      // The first frame resent must fit the server's epoch: its next frame, or a later epoch's snapshot.
      if (first.snapshot ? first.epoch <= epoch : first.epoch !== epoch) return false;
    }
    for (const frame of this.kept.slice(from)) {
      if (!this.sink.sendFrame(frame.text, frame, true)) return false;
    }
    this.flush();
    return true;
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
    if (!batch.urgent && !isLazy(event)) batch.urgent = true;
    this.pendingBytes += text.length;
    if (this.pendingBytes > MAX_PENDING_BYTES) {
      this.flush();
      if (this.pendingBytes > MAX_PENDING_BYTES) this.overflow();
      return;
    }
    const lazy = !batch.urgent && this.ready.length === 0;
    const due = Math.max(this.lastFlush + BATCH_MS, lazy ? this.lastLazyFrame + LAZY_MS : 0);
    this.schedule(Math.max(0, due - performance.now()), lazy);
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
    this.ready.push({ epoch: this.epoch, snapshot: true, masked: true, parts: [meta], inputs: new Map(), urgent: true });
    this.pendingBytes += meta.length;
    this.schedule(0);
  }

  /** Sends everything that can be sent now; the rest waits for the socket. */
  flush(): void {
    this.lastFlush = performance.now();
    this.clearTimer();
    if (!this.sink.canSend()) {
      // Keep filling the open batch (typing coalesces); try again later.
      if (this.current || this.ready.length > 0 || this.needSnapshot) this.schedule(RETRY_MS);
      return;
    }
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
      const head: FrameHead = { seq: this.nextSeq, epoch: batch.epoch, snapshot: batch.snapshot, masked: batch.masked === true };
      const frame =
        `{"v":1,"t":"events","seq":${head.seq},"epoch":${head.epoch},` +
        `"snapshot":${head.snapshot},${head.masked ? '"masked":true,' : ""}"data":[${parts.join(",")}]}`;
      if (!this.sink.sendFrame(frame, head, false)) break;
      this.nextSeq += 1;
      this.sentEpoch = head.epoch;
      if (!batch.urgent) this.lastLazyFrame = this.lastFlush;
      this.keep({ ...head, text: frame });
      this.ready.shift();
      for (const part of batch.parts) this.pendingBytes -= part?.length ?? 0;
    }
    if (this.needSnapshot && this.sink.canSend()) {
      this.needSnapshot = false;
      this.sink.requestSnapshot();
    }
    if (this.ready.length > 0 || this.needSnapshot) this.schedule(RETRY_MS);
  }

  /**
   * Drops everything not sent yet (a pause, a recording restarted under new rules, the end). Frames already
   * sent stay kept: they are what the server may still be missing.
   */
  clear(): void {
    this.clearTimer();
    this.current = null;
    this.ready = [];
    this.pendingBytes = 0;
  }

  /** Forgets the frames kept for resending (the session ended, or its numbering starts over). */
  forgetSent(): void {
    this.kept = [];
    this.keptBytes = 0;
  }

  private keep(frame: SentFrame): void {
    this.kept.push(frame);
    this.keptBytes += frame.text.length;
    let drop = 0;
    while (
      drop < this.kept.length &&
      (this.kept.length - drop > KEEP_SENT_FRAMES || this.keptBytes > KEEP_SENT_BYTES)
    ) {
      this.keptBytes -= this.kept[drop].text.length;
      drop += 1;
    }
    if (drop > 0) this.kept = this.kept.slice(drop);
  }

  private overflow(): void {
    this.dropped += this.ready.length + (this.current ? 1 : 0);
    this.clear();
    // Until the next Meta, events would refer to nodes the agent never received: drop them too.
    this.inEpoch = false;
    this.needSnapshot = true;
    this.schedule(RETRY_MS);
  }

  private seal(): void {
    if (this.current && this.current.parts.length > 0) this.ready.push(this.current);
    this.current = null;
  }

  /**
   * Flushes in `ms`, unless a flush is set already. A flush set for a lazy batch is brought forward when the
   * batch turns urgent; other timers stay (a retry while the socket cannot send keeps its RETRY_MS pace).
   */
  private schedule(ms: number, lazy = false): void {
    const due = performance.now() + ms;
    if (this.timer !== null) {
      if (!this.timerLazy || lazy || due >= this.timerDue) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timerLazy = lazy;
    this.timer = setTimeout(() => this.flush(), ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
