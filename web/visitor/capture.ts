/**
 * DOM capture with `@rrweb/record` (pinned 2.1.6), tuned for live viewing rather than session replay.
 *
 * Capture never touches the network: it hands each rrweb event to `emit` (the outbox). A full snapshot is
 * rrweb's Meta (type 4) + FullSnapshot (type 2) pair; the outbox starts a new epoch at each Meta, so
 * `snapshot()` is all a caller needs to heal a gap or an overflow. `takeFullSnapshot` keeps rrweb's node ids,
 * so commands that address nodes stay valid across snapshots of one recording.
 *
 * Live tuning (see /work/shared/notes/live-replay.md): pointer positions are sampled every 50 ms and handed
 * over every 50 ms (rrweb's default holds them for 500 ms); scrolls every 50 ms. Inputs are recorded on every
 * `input` event: rrweb's `sampling.input: "last"` listens to `change` only, so typing would reach the agent
 * only when the field loses focus; the outbox coalesces repeated values of one field within a batch instead.
 *
 * Remote control (rc-commands.ts) addresses nodes by rrweb id: `recordedNode(id, epoch)` finds a node of the
 * current record() run, for a command of an epoch that run sent (`RunEpochs`); anything older is refused,
 * because a new run (new page rules, pause, reconnect) numbers the nodes anew.
 *
 * Masking (docs/masking.md): capture records only under masking rules (`CaptureMasking`, given by
 * masking/controller.ts); without rules (not known yet, or a masked page) `start()` records nothing, and every
 * event passes the rules' `sanitize` before it reaches `emit`.
 */

import { record } from "@rrweb/record";
import type { eventWithTime } from "@rrweb/types";
import { HostExcluder } from "./exclude";
import type { FrameHead } from "./outbox";
import { PointerTrail } from "./pointer-trail";

/** Elements never serialized: the site's opt-out attribute and our own UI's host element. */
export const NO_CONTENT_SELECTOR = "[data-no-cobrowse-content]";

/** Elements the page marks as masked (class or attribute `glance_masked`): their text and values never leave. */
export const MASKED_SELECTOR = ".glance_masked, [glance_masked]";

/**
 * rrweb only calls `maskInputFn` for the input types listed in `maskInputOptions`, so every type that can hold
 * typed text is listed, and the function decides: passwords always, others when inside a masked element.
 * `select` is not listed: with it rrweb drops every option's `selected` state, so the agent would see the
 * wrong choice on every select; a masked select is blocked instead (masking/rules.ts), which shows nothing of
 * its options or its choice.
 */
const TEXT_INPUT_TYPES = {
  password: true, text: true, email: true, tel: true, number: true, search: true, url: true,
  textarea: true, date: true, "datetime-local": true, month: true, week: true, time: true,
} as const;

/**
 * The masking rules of one recording (web/visitor/masking/): rrweb's block and mask options plus the pass over
 * every event that closes rrweb's gaps. Capture never records without them.
 */
export interface CaptureMasking {
  /** Masked elements rrweb replaces by an empty box of the same size. */
  blockSelector: string;
  /** Every masked element (text inside is masked by rrweb too, as a second line). */
  maskTextSelector: string;
  /** rrweb's `maskInputFn`: asterisks for masked inputs and passwords. */
  maskInput(text: string, element: HTMLElement): string;
  /** The event with masked content removed, or null to drop it. */
  sanitize(event: eventWithTime): eventWithTime | null;
}

export interface CaptureOptions {
  /** Lower-case tag name of the SDK's UI host: blocked, and cut out of every event (see exclude.ts). */
  hostTag: string;
  emit(event: eventWithTime): void;
}

/** The rrweb id of the first recorded sibling after the first element named `tag`, or null. */
function nextRecordedSibling(tag: string): number | null {
  const host = document.querySelector(tag);
  for (let node = host?.nextSibling ?? null; node; node = node.nextSibling) {
    const id = record.mirror.getId(node);
    if (id > 0) return id;
  }
  return null;
}

/**
 * The epochs the current record() run has sent: from its first snapshot frame to the last frame sent.
 *
 * Why from what was sent: an agent can only name an epoch it received, so a command of a later epoch is forged,
 * and one of an earlier epoch than the run's first snapshot names nodes the run numbered differently. Frames of
 * an older run never go out for the first time after a new run starts (every restart clears the outbox's
 * unsent frames first), so the first snapshot frame sent after a restart is the new run's. Frames resent after
 * a reconnect (outbox.ts) are not reported again: they may be an older run's.
 */
export class RunEpochs {
  private run = -1;
  private first: number | null = null;
  private last = 0;

  /** A frame went out for the first time while record() run `run` was current. */
  frameSent(run: number, head: FrameHead): void {
    if (run !== this.run) {
      this.run = run;
      this.first = null;
    }
    if (head.masked) this.first = null; // a masked page: nothing of it is addressable
    else if (head.snapshot && this.first === null) this.first = head.epoch;
    this.last = Math.max(this.last, head.epoch);
  }

  /** True if `epoch` was sent by record() run `run` (the current one). */
  covers(run: number, epoch: number): boolean {
    return run === this.run && this.first !== null && epoch >= this.first && epoch <= this.last;
  }

  /** The session's position starts again (`started` / `resumed`): nothing sent so far counts. */
  reset(): void {
    this.run = -1;
    this.first = null;
    this.last = 0;
  }
}

export class Capture {
  private stopRecording: (() => void) | null = null;
  /** Numbers the record() runs: rrweb numbers the nodes anew in each. */
  private run = 0;
  /** The epochs the current run sent (fed by the session with every frame). */
  readonly epochs = new RunEpochs();
  private readonly excluder: HostExcluder;
  private trail: PointerTrail | null = null;
  /** The current masking rules; null (no rules known, or a masked page): nothing is recorded. */
  private masking: CaptureMasking | null = null;

  constructor(private readonly options: CaptureOptions) {
    this.excluder = new HostExcluder(options.hostTag, () => nextRecordedSibling(options.hostTag));
  }

  /**
   * While held (a paused page, pause.ts) nothing is recorded: `start()` only stops, so no path that restarts
   * the recording (a new epoch, new masking rules) can upload the page during a pause.
   */
  held = false;

  get running(): boolean {
    return this.stopRecording !== null;
  }

  /**
   * Starts recording; rrweb emits the first full snapshot as soon as the document is parsed
   * (`recordAfter: "DOMContentLoaded"`, not waiting for images). `masking` replaces the rules; without it the
   * last rules given are used, and with none (or a masked page) nothing is recorded.
   */
  start(masking?: CaptureMasking | null): void {
    this.stop();
    if (masking !== undefined) this.masking = masking;
    if (this.held) return;
    const rules = this.masking;
    if (!rules) return; // masking rules not known yet, or the page is masked: nothing may be recorded
    const emit = (event: eventWithTime): void => {
      const clean = rules.sanitize(this.excluder.process(event));
      if (!clean) return;
      this.trail?.saw(clean);
      this.options.emit(clean);
    };
    const stop = record<eventWithTime>({
      emit,
      sampling: { mousemove: 50, mousemoveCallback: 50, scroll: 50, input: "all" },
      maskInputOptions: TEXT_INPUT_TYPES,
      maskInputFn: (text, element) => rules.maskInput(text, element),
      maskTextSelector: rules.maskTextSelector,
      blockSelector: `${NO_CONTENT_SELECTOR}, ${this.options.hostTag}, ${rules.blockSelector}`,
      recordCanvas: false,
      recordCrossOriginIframes: false,
      inlineStylesheet: true,
      collectFonts: false,
      recordAfter: "DOMContentLoaded",
      // Scripts and comments are of no use to a viewer and only widen what could run in the console.
      slimDOMOptions: { script: true, comment: true },
      // rrweb runs inside the site's page: an rrweb fault must not break the site's own event handlers.
      errorHandler: (error: unknown) => {
        console.warn("cobrowse: capture error", error);
        return true;
      },
    });
    this.stopRecording = stop ?? (() => undefined);
    this.run += 1;
    this.trail = new PointerTrail(emit);
    this.trail.start();
  }

  /** Call with every `events` frame as it first goes out (see RunEpochs). */
  frameSent(head: FrameHead): void {
    this.epochs.frameSent(this.running ? this.run : -1, head);
  }

  /**
   * The node rrweb numbered `id` in the current recording, if `epoch` is one this recording sent; else null
   * (not recording, an older recording's epoch, a forged epoch or id).
   */
  recordedNode(id: number, epoch: number): Node | null {
    if (!Number.isInteger(id) || id <= 0 || !this.isCurrentEpoch(epoch)) return null;
    return record.mirror.getNode(id);
  }

  /** True if `epoch` was sent by the recording running now. */
  isCurrentEpoch(epoch: number): boolean {
    return this.running && this.epochs.covers(this.run, epoch);
  }

  /**
   * Takes a fresh full snapshot (a new epoch). Before rrweb has taken its first one (the document is still
   * loading) there is nothing to do: that first snapshot is on its way.
   */
  snapshot(): void {
    if (!this.running) return;
    try {
      record.takeFullSnapshot(true);
    } catch {
      // "please take full snapshot after start recording": the initial snapshot is still pending.
    }
  }

  /** Forgets the masking rules and stops: nothing is recorded until new rules come (a masked page, an end). */
  forbid(): void {
    this.masking = null;
    this.stop();
  }

  stop(): void {
    this.trail?.stop();
    this.trail = null;
    const stop = this.stopRecording;
    this.stopRecording = null;
    if (stop) {
      try {
        stop();
      } catch (error) {
        console.warn("cobrowse: error while stopping capture", error);
      }
    }
  }
}
