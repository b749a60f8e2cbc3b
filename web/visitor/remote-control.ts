/**
 * Remote control on the visitor's side: consent, state, and when commands may act (docs/visitor-api.md
 * "Remote control"; the wire in docs/protocol.md).
 *
 * - Consent: an agent's `rc_request` fires `rcrequested` {accept(), decline(), selective, name, num}. With the
 *   default UI the visitor is also asked (rc-ui.ts); with a custom UI (`data-ui="custom"` / `"none"`) the site
 *   answers through the event. Answers are idempotent and do nothing once stale (another request came,
 *   control was turned on or off otherwise, the session ended). `enableRC(true | false)` sets control
 *   directly. Each change goes to the server as `rc` and fires `rc` {enabled, suspended} here.
 * - Taking control back: the banner's Stop button; an agent releasing control (the server's `rc` {enabled:
 *   false}); the end of the session. The visitor's own trusted input (pointer down, key, wheel, touch, a mouse
 *   move of more than MOVE_SLOP_PX) suspends control for SUSPEND_MS after the last such input; the server and
 *   the agents are told (`suspended` true, then false). Commands arriving meanwhile are dropped. Input on the
 *   SDK's own UI does not count, and synthetic events (ours) are never trusted.
 * - A new page of the session continues control from `started` / `resumed`'s `rc`.
 * - Commands act only while control is enabled and not suspended, the session is live on this page, the page is
 *   neither paused nor masked; rc-commands.ts checks each command against the page.
 * - Tabs: every tab of the visitor hears requests and commands; only the tab the server shows agents asks the
 *   visitor and acts (the others show the banner only).
 */

import type { AgentsInfo, RcMsg, ServerToVisitor, StartedMsg } from "../shared/protocol";
import { msg } from "../shared/protocol";
import type { Emitter, RcEventPayload, VisitorEventMap } from "./events";
import { VisitorError } from "./keys";
import { CommandRunner, parseControl } from "./rc-commands";
import { RcUi } from "./rc-ui";
import type { SessionClient } from "./session";

/** How long the visitor's own input suspends control after its last event. */
export const SUSPEND_MS = 3000;
/** A mouse move shorter than this (CSS px) is a hand resting on the mouse, not the visitor taking over. */
export const MOVE_SLOP_PX = 8;
const VISITOR_INPUT = ["pointerdown", "keydown", "wheel", "touchstart", "mousemove"];

export interface RemoteControlDeps {
  session: SessionClient;
  /** The SDK's internal emitter. */
  events: Emitter<VisitorEventMap>;
  /** True while the page is paused (pause.ts): nothing is recorded, so nothing may be controlled. */
  paused(): boolean;
  /** The default UI asks the visitor when an agent requests control (else the site answers `rcrequested`). */
  prompt: boolean;
}

interface Request {
  num: number;
  name: string;
}

export class RemoteControl {
  private enabled = false;
  private suspended = false;
  private request: Request | null = null;
  /** Who asked last or sent the last command (for the banner and the pointer's label). */
  private controller: { num: number; name: string } | null = null;
  private agents: AgentsInfo | null = null;
  private suspendTimer: ReturnType<typeof setTimeout> | null = null;
  private moveFrom: { x: number; y: number } | null = null;
  /** The last state change not yet sent (the socket was not live): sent when the session is live again. */
  private unsent: RcMsg | null = null;
  private readonly ui = new RcUi({ stop: () => this.change(false, false, true) });
  private readonly commands: CommandRunner;

  constructor(private readonly deps: RemoteControlDeps) {
    const { session } = deps;
    this.commands = new CommandRunner({
      current: (epoch) => session.isCurrentEpoch(epoch),
      node: (id, epoch) => session.recordedNode(id, epoch),
      hides: (el) => session.masking.hides(el),
      pointer: (x, y) => this.ui.showPointer(x, y, this.controllerName()),
    });
    session.extensions.push({
      onStarted: (m) => this.started(m),
      onMessage: (m) => this.received(m),
      onEnd: () => this.ended(),
    });
    deps.events.on("agents", (agents) => {
      this.agents = agents;
      this.render();
    });
    for (const type of VISITOR_INPUT) addEventListener(type, this.onVisitorInput, { capture: true, passive: true });
  }

  /** `getSessionState("rc")`. */
  state(): RcEventPayload {
    return { enabled: this.enabled, suspended: this.suspended };
  }

  /** `Visitor.enableRC(enable)` (the caller checked that a session is active). */
  enableRC(enable: unknown): void {
    if (typeof enable !== "boolean") {
      throw new VisitorError("invalidparams", "cobrowse: enableRC takes true or false");
    }
    this.closeRequest();
    this.change(enable, false, true);
  }

  private started(m: StartedMsg): void {
    const unsent = this.unsent;
    this.unsent = null;
    if (unsent) {
      this.send(unsent); // the visitor's latest word, said while the socket was down
      return;
    }
    const rc = m.rc ?? { enabled: false, suspended: false };
    this.change(rc.enabled === true, false, false);
    // Suspended on the last page (the visitor clicked a link, say): this page starts unsuspended.
    if (rc.enabled && rc.suspended) this.send(this.stateMessage());
  }

  private received(m: ServerToVisitor): void {
    if (m.t === "rc_request") {
      this.requested(typeof m.num === "number" ? m.num : 0, typeof m.name === "string" ? m.name : "");
    } else if (m.t === "rc") {
      if (m.enabled === false) this.change(false, false, false); // an agent released control
    } else if (m.t === "control") {
      const cmd = parseControl(m);
      if (!cmd) return;
      if (!this.mayAct()) {
        console.debug(`cobrowse: remote control: ${cmd.op} dropped: control is not active on this page`);
        return;
      }
      this.noteController(cmd.agent);
      this.commands.apply(cmd);
    }
  }

  private ended(): void {
    this.closeRequest();
    this.unsent = null;
    this.clearSuspension();
    const was = this.enabled;
    this.enabled = false;
    this.suspended = false;
    this.controller = null;
    this.agents = null;
    this.ui.clear();
    if (was) this.deps.events.emit("rc", this.state());
  }

  private mayAct(): boolean {
    const { session } = this.deps;
    return (
      this.enabled && !this.suspended && session.live && session.shown && !this.deps.paused() &&
      !session.masking.isPageMasked()
    );
  }

  /** An agent asks: `rcrequested`, and the default UI's prompt. */
  private requested(num: number, name: string): void {
    if (!this.deps.session.shown) return; // the tab the agent sees asks the visitor
    const request: Request = { num, name };
    this.request = request;
    const answer = (allow: boolean): void => {
      if (this.request !== request) return; // answered already, or stale
      this.closeRequest();
      if (allow) {
        this.controller = { num, name };
        this.change(true, false, true);
      } else {
        this.send(msg<RcMsg>({ t: "rc", enabled: false, suspended: false, declined: true }));
      }
    };
    if (this.deps.prompt) this.ui.showPrompt(name, answer);
    this.deps.events.emit("rcrequested", {
      accept: () => answer(true),
      decline: () => answer(false),
      selective: false,
      name,
      num,
    });
  }

  private closeRequest(): void {
    this.request = null;
    this.ui.closePrompt();
  }

  /** Sets the state; `send` tells the server; `rc` fires if anything changed. */
  private change(enabled: boolean, suspended: boolean, send: boolean): void {
    const changed = enabled !== this.enabled || suspended !== this.suspended;
    this.enabled = enabled;
    this.suspended = enabled && suspended;
    if (!this.suspended) this.clearSuspension();
    if (enabled && this.request) this.closeRequest();
    if (send) this.send(this.stateMessage());
    this.render();
    if (changed) this.deps.events.emit("rc", this.state());
  }

  private stateMessage(): RcMsg {
    return msg<RcMsg>({ t: "rc", enabled: this.enabled, suspended: this.suspended, declined: false });
  }

  private send(m: RcMsg): void {
    if (!this.deps.session.sendControl(m)) this.unsent = m;
  }

  private render(): void {
    if (this.enabled) this.ui.showBanner(this.controllerName(), this.suspended);
    else this.ui.hideBanner();
  }

  private noteController(num: number): void {
    if (this.controller?.num === num) return;
    const entry = this.agents?.agentlist.find((a) => a.num === num);
    if (entry) {
      this.controller = { num, name: entry.name };
      this.render();
    }
  }

  /** The controlling agent's name: who asked, or sent commands, else the only agent in the session. */
  private controllerName(): string | null {
    if (this.controller?.name) return this.controller.name;
    const agents = this.agents?.agentlist.filter((a) => a.role === "agent") ?? [];
    return agents.length === 1 && agents[0].name ? agents[0].name : null;
  }

  private readonly onVisitorInput = (event: Event): void => {
    if (!this.enabled || !event.isTrusted || RcUi.isOwn(event)) return;
    if (event.type === "mousemove" && !this.suspended) {
      const { clientX: x, clientY: y } = event as MouseEvent;
      if (!this.moveFrom) {
        this.moveFrom = { x, y };
        return;
      }
      if (Math.hypot(x - this.moveFrom.x, y - this.moveFrom.y) < MOVE_SLOP_PX) return;
    }
    this.suspend();
  };

  /** The visitor's own input: control pauses until SUSPEND_MS after the last of it. */
  private suspend(): void {
    if (this.suspendTimer !== null) clearTimeout(this.suspendTimer);
    this.suspendTimer = setTimeout(() => {
      this.suspendTimer = null;
      this.moveFrom = null;
      if (this.enabled && this.suspended) this.change(true, false, true);
    }, SUSPEND_MS);
    if (!this.suspended) this.change(true, true, true);
  }

  private clearSuspension(): void {
    if (this.suspendTimer !== null) clearTimeout(this.suspendTimer);
    this.suspendTimer = null;
    this.moveFrom = null;
  }
}
