/**
 * The live view: one rrweb `Replayer` per epoch, its clock, its scale, and keeping it current.
 *
 * - A new replayer for every full snapshot: the replayer keeps every event it was given, so recreating it at
 *   each epoch bounds memory by what the server's log bounds, and node ids of two recordings never mix.
 * - Replayer settings that keep visitor code from running and the view honest: its own sandboxed iframe
 *   (`allow-same-origin` only; never `UNSAFE_replayCanvas`), `pauseAnimation: false` (the live state is not
 *   "playing", so rrweb would otherwise freeze CSS animations), `triggerFocus: false` (never move the agent's
 *   focus), no mouse tail, and no virtual DOM (so nothing can wait for a flush that live mode never does).
 * - Event times are rewritten to the agent's clock (clock.ts), so events are always due on arrival.
 * - rrweb applies due events on the next animation frame, and hidden tabs get none: after every frame, and
 *   when the tab becomes visible, the replayer's timer is run at once (`catchUp`), so the view is current
 *   even in a background tab and shows the latest state the moment it is looked at.
 * - Scrolls are applied instantly (rrweb scrolls smoothly, which needs animation frames and lags behind).
 * - The recorded viewport is scaled down (never up) to fit the stage, centred.
 */

import { Replayer, type playerConfig } from "@rrweb/replay";
import type { eventWithTime } from "@rrweb/types";
import type { OpaqueEvent } from "../shared/protocol";
import { canvasPlugin } from "./canvas";
import { EpochClock, agentNow } from "./clock";
import { MASKED_STYLE_RULES } from "./masked";

type Plugin = NonNullable<playerConfig["plugins"]>[number];

/** rrweb's event type and incremental source numbers used here (from @rrweb/types, a type-only import). */
const INCREMENTAL_SNAPSHOT = 3;
const SOURCE_SCROLL = 3;

/** Events count as having arrived this much earlier, so that rrweb's timer (started a few microseconds after
 * the baseline was read) finds them due when `catchUp` runs instead of one animation frame later. */
const TIMER_SLACK_MS = 2;

/** The parts of rrweb's timer used to apply due events without waiting for an animation frame (rrweb 2.1.6 is
 * pinned; `rafCheck` is private in its typings but is the timer's one "apply what is due" step). */
interface LiveTimer {
  rafCheck?: () => void;
  isActive(): boolean;
  clear(): void;
}

interface Size {
  width: number;
  height: number;
}

/** Applies scroll events without smooth scrolling (which needs animation frames). */
function instantScroll(): Plugin {
  return {
    handler(event, _isSync, { replayer }) {
      const e = event as unknown as { type: number; data: { source?: number; id?: number; x?: number; y?: number } };
      if (e.type !== INCREMENTAL_SNAPSHOT || e.data.source !== SOURCE_SCROLL || typeof e.data.id !== "number") return;
      // The node lives in the replay iframe's realm: test it by nodeType, never with instanceof.
      const target = replayer.getMirror().getNode(e.data.id) as (Node & Partial<Element>) | null;
      const options: ScrollToOptions = { top: e.data.y ?? 0, left: e.data.x ?? 0, behavior: "instant" };
      try {
        if (target?.nodeType === Node.DOCUMENT_NODE) {
          (target as unknown as Document).defaultView?.scrollTo(options);
        } else if (target && typeof target.scrollTo === "function") {
          target.scrollTo(options);
        }
      } catch {
        // A node rrweb could not scroll either; nothing to do.
      }
    },
  };
}

export class Viewer {
  private replayer: Replayer | null = null;
  private clock: EpochClock | null = null;
  private size: Size | null = null;
  private maskedEpoch = false;
  private readonly host: HTMLDivElement;
  private readonly resizeObserver: ResizeObserver;
  private readonly onVisibility = (): void => {
    if (document.visibilityState === "visible") this.catchUp();
  };

  constructor(private readonly stage: HTMLElement) {
    this.host = document.createElement("div");
    this.host.className = "cb-replay-host";
    this.host.hidden = true; // shown once a recording has a size
    stage.appendChild(this.host);
    this.resizeObserver = new ResizeObserver(() => this.fit());
    this.resizeObserver.observe(stage);
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  /** Whether a recording is shown. */
  get active(): boolean {
    return this.replayer !== null;
  }

  /** The replay iframe of the current epoch (for tests and embedding pages), or null. */
  frame(): HTMLIFrameElement | null {
    return this.replayer?.iframe ?? null;
  }

  /** The element the replay is shown in (scaled and centred in the stage): remote control's overlay goes here. */
  get hostElement(): HTMLElement {
    return this.host;
  }

  /** The rrweb id of a node of the current replay (> 0), or -1 for a node it did not build or no replay. */
  nodeId(node: Node): number {
    return this.replayer?.getMirror().getId(node) ?? -1;
  }

  /** Start a new epoch from a snapshot frame's events (Meta, FullSnapshot, ...); the old replayer goes. */
  startEpoch(events: OpaqueEvent[]): Promise<void> {
    this.clear();
    const replayer = new Replayer([], {
      root: this.host,
      liveMode: true,
      pauseAnimation: false,
      triggerFocus: false,
      mouseTail: false,
      UNSAFE_replayCanvas: false,
      useVirtualDom: false,
      skipInactive: false,
      showWarning: false,
      speed: 1,
      plugins: [instantScroll(), canvasPlugin()],
      // Masked elements (rrweb placeholders marked rr-block) as a striped box of their size (masked.ts).
      insertStyleRules: MASKED_STYLE_RULES,
    });
    replayer.on("resize", (dimension: unknown) => {
      const d = dimension as Partial<Size>;
      if (typeof d.width === "number" && typeof d.height === "number" && d.width > 0 && d.height > 0) {
        this.size = { width: d.width, height: d.height };
        this.fit();
      }
    });
    const baseline = agentNow();
    replayer.startLive(baseline);
    this.replayer = replayer;
    this.clock = new EpochClock(baseline);
    return this.feed(events, baseline);
  }

  /** Start a masked page's epoch: nothing of the page is shown (the console's panel says so, masked.ts). */
  startMasked(): Promise<void> {
    this.clear();
    this.maskedEpoch = true;
    return Promise.resolve();
  }

  /** Whether the current epoch is a masked page's. */
  get masked(): boolean {
    return this.maskedEpoch;
  }

  /** Add the events of the next frame of the current epoch. */
  addEvents(events: OpaqueEvent[]): Promise<void> {
    if (!this.clock) return Promise.resolve();
    return this.feed(events, Math.max(this.clock.baseline, agentNow() - TIMER_SLACK_MS));
  }

  /** Apply every event that is due now, without waiting for an animation frame. */
  catchUp(): void {
    const replayer = this.replayer;
    if (!replayer) return;
    const timer = replayer.timer as unknown as LiveTimer;
    if (typeof timer.rafCheck === "function" && timer.isActive()) timer.rafCheck();
  }

  /** Remove the current replayer (leave, end, before a new epoch). */
  clear(): void {
    const replayer = this.replayer;
    this.replayer = null;
    this.clock = null;
    this.size = null;
    this.maskedEpoch = false;
    this.host.hidden = true;
    if (!replayer) return;
    (replayer.timer as unknown as LiveTimer).clear();
    try {
      replayer.destroy();
    } catch (err) {
      console.warn("cobrowse: could not destroy the replayer", err);
      this.host.replaceChildren();
    }
  }

  /** Fit the recorded viewport into the stage: scale down only, centred. */
  fit(): void {
    const replayer = this.replayer;
    const size = this.size;
    if (!replayer || !size) return;
    const availW = this.stage.clientWidth;
    const availH = this.stage.clientHeight;
    if (availW <= 0 || availH <= 0) return;
    const scale = Math.min(availW / size.width, availH / size.height, 1);
    const w = size.width * scale;
    const h = size.height * scale;
    const wrapper = replayer.wrapper;
    wrapper.style.width = `${size.width}px`;
    wrapper.style.height = `${size.height}px`;
    wrapper.style.transformOrigin = "0 0";
    wrapper.style.transform = `scale(${scale})`;
    this.host.style.width = `${w}px`;
    this.host.style.height = `${h}px`;
    this.host.style.left = `${Math.max(0, (availW - w) / 2)}px`;
    this.host.style.top = `${Math.max(0, (availH - h) / 2)}px`;
    this.host.dataset.scale = scale.toFixed(4);
    this.host.hidden = false;
  }

  private feed(events: OpaqueEvent[], arrival: number): Promise<void> {
    const replayer = this.replayer;
    const clock = this.clock;
    if (!replayer || !clock) return Promise.resolve();
    clock.rewrite(events, arrival);
    for (const event of events) replayer.addEvent(event as unknown as eventWithTime);
    // rrweb hands each event to its state machine in a microtask; this one is queued after them all.
    return Promise.resolve().then(() => {
      if (this.replayer === replayer) this.catchUp();
    });
  }
}
