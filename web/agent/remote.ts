/**
 * Remote control from the agent's side: the session's control state as this agent sees it, asking for control,
 * giving it back, and sending commands (the wire contract is docs/protocol.md "Remote control").
 *
 * - The state is the server's (`joined.rc`, then an `rc` message after every change) plus one thing only this
 *   agent knows: that its request waits for the visitor's answer (`requested`). It is reset when the agent
 *   leaves the session or the session ends, so the console's input layer (rc-input.ts) deactivates at once.
 * - Releasing turns control off here at once (the server confirms with an `rc` message): after "Release
 *   control" not one more command leaves the console.
 * - `command` sends what it is given; the console's input layer sends only while control is enabled, but the
 *   server and the visitor's page check everything again (a refusal arrives as an `error`, rcoff or
 *   accessdenied, that leaves the session alone: see client.ts).
 */

import {
  MAX_CONTROL_TEXT,
  MAX_KEY_NAME,
  MAX_SCROLL_DELTA,
  controlMsg,
  msg,
  type AgentToServer,
  type RcReleaseMsg,
  type RcRequestMsg,
  type RcState,
} from "../shared/protocol";
import { AgentError, type AgentEvents, type ControlCommand, type RcInfo } from "./api";
import type { Emitter } from "./emitter";

/** Sends one message if joined and connected; throws AgentError (`notjoined`, `conndrop`) otherwise. */
export type Sender = (message: AgentToServer) => void;

/** Ops that name a node (the server closes the socket of a console that sends them with id 0). */
const NEEDS_NODE = new Set(["move", "click", "dblclick", "focus", "select", "selecttext"]);
const OPS = new Set([...NEEDS_NODE, "key", "text", "scroll"]);

const OFF: RcInfo = Object.freeze({ enabled: false, suspended: false, declined: false, requested: false });

function clamp(value: unknown, lo: number, hi: number, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? Math.min(hi, Math.max(lo, value)) : fallback;
}

function int(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isInteger(value) ? value : fallback;
}

/** The server's rc state (from `joined` or an `rc` message), read defensively. */
export function rcFromWire(m: unknown): { enabled: boolean; suspended: boolean; declined: boolean } {
  const v = (typeof m === "object" && m !== null ? m : {}) as Partial<RcState & { declined: boolean }>;
  const enabled = v.enabled === true;
  return { enabled, suspended: enabled && v.suspended === true, declined: !enabled && v.declined === true };
}

export class RemoteControl {
  private current: RcInfo = OFF;

  constructor(
    private readonly events: Emitter<AgentEvents>,
    private readonly send: Sender,
    private readonly epoch: () => number | null,
  ) {}

  get state(): RcInfo {
    return { ...this.current };
  }

  /** Whether commands may be sent now: enabled and not suspended by the visitor's own input. */
  get active(): boolean {
    return this.current.enabled && !this.current.suspended;
  }

  /** Asks the visitor for control; the answer is an `rc` event (enabled, or declined). */
  request(): void {
    this.send(msg<RcRequestMsg>({ t: "rc_request", num: 0, name: "" }));
    if (!this.current.enabled) this.set({ ...this.current, declined: false, requested: true });
  }

  /** Gives control back for the whole session (the visitor may enable it again). */
  release(): void {
    this.send(msg<RcReleaseMsg>({ t: "rc_release" }));
    this.set(OFF);
  }

  /**
   * Sends one control command; `epoch` defaults to the epoch of the view shown. Fields are kept in range, and
   * what the server would answer by closing the socket (docs/protocol.md) is refused here (`badcommand`).
   */
  command(cmd: ControlCommand): void {
    const epoch = cmd.epoch === undefined ? (this.epoch() ?? 0) : int(cmd.epoch, -1);
    if (cmd.epoch === undefined && epoch < 1) throw new AgentError("noview", "no page is shown to control");
    if (epoch < 1) throw new AgentError("badcommand", "epoch is a recording's number, 1 or more");
    if (!OPS.has(cmd.op)) throw new AgentError("badcommand", `unknown control op ${JSON.stringify(cmd.op)}`);
    const [id, endId] = [int(cmd.id, 0), int(cmd.end_id, 0)];
    if (id < 0 || endId < 0) throw new AgentError("badcommand", "node ids are never negative");
    if (NEEDS_NODE.has(cmd.op) && id === 0) throw new AgentError("badcommand", `${cmd.op} needs the id of a node`);
    const text = typeof cmd.text === "string" ? cmd.text.slice(0, MAX_CONTROL_TEXT) : "";
    const key = typeof cmd.key === "string" ? cmd.key.slice(0, MAX_KEY_NAME) : "";
    this.send(
      controlMsg({
        op: cmd.op,
        epoch,
        id,
        x: clamp(cmd.x, 0, 1, 0.5),
        y: clamp(cmd.y, 0, 1, 0.5),
        key,
        shift: cmd.shift === true,
        ctrl: cmd.ctrl === true,
        alt: cmd.alt === true,
        meta: cmd.meta === true,
        text,
        index: Math.max(-1, int(cmd.index, -1)),
        dx: clamp(cmd.dx, -MAX_SCROLL_DELTA, MAX_SCROLL_DELTA, 0),
        dy: clamp(cmd.dy, -MAX_SCROLL_DELTA, MAX_SCROLL_DELTA, 0),
        offset: Math.max(0, int(cmd.offset, 0)),
        end_id: endId,
        end_offset: Math.max(0, int(cmd.end_offset, 0)),
      }),
    );
  }

  /** The state the server gave at `joined` (a session already in control continues it). */
  onJoined(rc: unknown): void {
    const wire = rcFromWire(rc);
    this.set({ ...wire, declined: false, requested: false });
  }

  /** An `rc` message: the session's state after a change. A pending request ends with an answer. */
  onRc(m: unknown): void {
    const wire = rcFromWire(m);
    const answered = wire.enabled || wire.declined;
    this.set({ ...wire, requested: this.current.requested && !answered });
  }

  /** The server refused a request or command (`rcoff`, `accessdenied`): a pending request has its answer. */
  onRefused(): void {
    if (this.current.requested) this.set({ ...this.current, requested: false });
  }

  /** The agent left or the session is over: control is off. */
  reset(): void {
    this.set(OFF);
  }

  private set(next: RcInfo): void {
    const prev = this.current;
    this.current = Object.freeze({ ...next });
    if (
      prev.enabled !== next.enabled ||
      prev.suspended !== next.suspended ||
      prev.declined !== next.declined ||
      prev.requested !== next.requested
    ) {
      this.events.emit("rc", { ...this.current });
    }
  }
}
