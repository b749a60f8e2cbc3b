/**
 * The agent's session logic behind `window.CobrowseAgent`: join, leave, end, and the server's messages.
 *
 * It ties the three moving parts together: the WebSocket (connection.ts), the epoch/sequence rules
 * (sequencer.ts) and the live view (viewer.ts). It holds the public state (`state`, `session`) and emits the
 * public events (api.ts). It touches no DOM besides what the viewer owns.
 */

import {
  KEY_PATTERN,
  KEY_RULE,
  type EndReason,
  type EventsMsg,
  type AdmitMsg,
  type GuestJoinMsg,
  type JoinMsg,
  type JoinedMsg,
  type ServerToAgent,
  type SessionMessageMsg,
  type AgentToServer,
  msg,
} from "../shared/protocol";
import {
  AgentError,
  type AgentEvents,
  type ControlCommand,
  type AgentState,
  type ConnectionStatus,
  type JoinOptions,
  type JoinedInfo,
} from "./api";
import { Connection, agentSocketUrl } from "./connection";
import { Emitter } from "./emitter";
import { AgentMessages, checkMessage } from "./messages";
import { RemoteControl, rcFromWire } from "./remote";
import { Sequencer } from "./sequencer";
import type { Viewer } from "./viewer";

/** Server errors after which the connection is retried rather than the session given up. */
const TRANSIENT_ERRORS = new Set(["overloaded", "service"]);

/** Refusals of a remote-control request or command (remote.ts): reported, and the session goes on. */
const RC_REFUSALS = new Set(["rcoff", "accessdenied"]);

interface Pending<T> {
  resolve(value: T): void;
  reject(err: AgentError): void;
}

function isEventsFrame(m: ServerToAgent): m is EventsMsg {
  const f = m as Partial<EventsMsg>;
  return (
    Number.isInteger(f.seq) && Number.isInteger(f.epoch) && typeof f.snapshot === "boolean" && Array.isArray(f.data)
  );
}

function joinedInfo(m: JoinedMsg): JoinedInfo {
  return {
    session: m.session,
    key: m.key,
    group: m.group,
    visitor: { ...m.visitor },
    page: m.page ? { url: String(m.page.url), title: String(m.page.title) } : null,
    visitorConnected: Boolean(m.visitor_connected),
    visitorTabs: Number.isInteger(m.visitor_tabs) && m.visitor_tabs >= 0 ? m.visitor_tabs : m.visitor_connected ? 1 : 0,
    agents: m.agents ? { count: m.agents.count, agentlist: [...m.agents.agentlist] } : { count: 0, agentlist: [] },
    pause: pauseState(m.pause),
    rc: (({ enabled, suspended }) => ({ enabled, suspended }))(rcFromWire(m.rc)),
  };
}

function pauseState(p: unknown): { pause: boolean; message: string | null } {
  const v = (typeof p === "object" && p !== null ? p : {}) as { pause?: unknown; message?: unknown };
  return { pause: v.pause === true, message: v.pause === true && typeof v.message === "string" ? v.message : null };
}

export class AgentClient {
  readonly events = new Emitter<AgentEvents>();
  readonly messages = new AgentMessages();
  private readonly sequencer = new Sequencer();
  private conn: Connection | null = null;
  private joinMsg: { key: string; group: number | null } | null = null;
  /** Set when joining as an invited guest (guest.ts): the hello is `guestjoin` on /ws/guest. */
  private guestMsg: { token: string; name: string } | null = null;
  private pendingJoin: Pending<JoinedInfo> | null = null;
  private pendingEnd: Pending<void> | null = null;
  private lastError: { code: string; msg: string } | null = null;
  /** `lastError` is a refusal the session survived (onError): forgotten at the next message. */
  private softError = false;
  private currentState: AgentState = "idle";
  private info: JoinedInfo | null = null;
  /** Remote control: its state, request / release, and commands (remote.ts). */
  readonly rc: RemoteControl;

  constructor(
    private readonly viewer: Viewer,
    private readonly url: string = agentSocketUrl(),
  ) {
    this.rc = new RemoteControl(this.events, (m) => this.sendJoined(m), () => this.epoch);
  }

  get state(): AgentState {
    return this.currentState;
  }
  get session(): JoinedInfo | null {
    return this.info;
  }
  get connection(): ConnectionStatus {
    return this.conn?.status ?? "closed";
  }
  get lastSeq(): number | null {
    return this.sequencer.lastSeq;
  }
  get epoch(): number | null {
    return this.sequencer.epoch;
  }

  /** As an invited guest: spend the link's token and wait for an agent to admit us (then `joined`). */
  joinAsGuest(token: string, name: string): Promise<JoinedInfo> {
    if (typeof token !== "string" || !token) return Promise.reject(new AgentError("badinvite", "no guest token"));
    const clean = typeof name === "string" ? name.trim() : "";
    if (clean.length < 1 || clean.length > 100) {
      return Promise.reject(new AgentError("badname", "a guest name is 1 to 100 characters"));
    }
    this.shutdown(new AgentError("aborted", "a new join replaced this one"));
    this.guestMsg = { token, name: clean };
    return this.connect(this.url.replace(/\/ws\/agent$/, "/ws/guest"));
  }

  /** Answer a waiting guest (`guestrequest` event); the server checks `invite_guests`. */
  admitGuest(guestid: number, accept: boolean): void {
    if (this.currentState !== "joined" || !this.conn) throw new AgentError("notjoined", "not in a session");
    if (!Number.isInteger(guestid)) throw new AgentError("badguest", "guestid must be an integer");
    if (!this.conn.send(msg<AdmitMsg>({ t: "admit", guestid, accept: accept === true }))) {
      throw new AgentError("conndrop", "not connected to the server; try again");
    }
  }

  join(key: string, opts: JoinOptions = {}): Promise<JoinedInfo> {
    if (typeof key !== "string" || !KEY_PATTERN.test(key)) {
      return Promise.reject(new AgentError("badkey", `invalid session key: ${KEY_RULE}`));
    }
    const group = opts?.group ?? null;
    if (group !== null && !(Number.isInteger(group) && group > 0)) {
      return Promise.reject(new AgentError("badgroup", "group must be a positive integer"));
    }
    this.shutdown(new AgentError("aborted", "a new join replaced this one"));
    this.joinMsg = { key, group };
    return this.connect(this.url);
  }

  private connect(url: string): Promise<JoinedInfo> {
    this.lastError = null;
    this.softError = false;
    this.setState("connecting");
    const promise = new Promise<JoinedInfo>((resolve, reject) => {
      this.pendingJoin = { resolve, reject };
    });
    const conn = new Connection(url, {
      onOpen: () => this.onOpen(conn),
      onMessage: (m) => this.onMessage(conn, m),
      onStatus: (status) => {
        if (this.conn === conn) this.events.emit("connection", { status });
      },
      onClosed: (code, reason) => this.onClosed(conn, code, reason),
    });
    this.conn = conn;
    conn.open();
    return promise;
  }

  leave(): void {
    this.conn?.send(msg({ t: "leave" }));
    this.shutdown(new AgentError("aborted", "left the session"));
    this.setState("idle");
  }

  end(): Promise<void> {
    if (this.currentState !== "joined" || !this.conn) {
      return Promise.reject(new AgentError("notjoined", "not in a session"));
    }
    if (this.pendingEnd) return Promise.reject(new AgentError("pending", "already ending the session"));
    if (!this.conn.send(msg({ t: "end" }))) {
      return Promise.reject(new AgentError("conndrop", "not connected to the server; try again"));
    }
    return new Promise<void>((resolve, reject) => {
      this.pendingEnd = { resolve, reject };
    });
  }

  replayFrame(): HTMLIFrameElement | null {
    return this.viewer.frame();
  }

  requestControl(): void {
    this.rc.request();
  }

  releaseControl(): void {
    this.rc.release();
  }

  control(cmd: ControlCommand): void {
    if (typeof cmd !== "object" || cmd === null) throw new AgentError("badcommand", "a control command is an object");
    this.rc.command(cmd);
  }

  /** Sends a message of the joined session; throws AgentError (`notjoined`, `conndrop`), sends nothing then. */
  private sendJoined(m: AgentToServer): void {
    if (this.currentState !== "joined" || !this.conn) throw new AgentError("notjoined", "not in a session");
    if (!this.conn.send(m)) throw new AgentError("conndrop", "not connected to the server; try again");
  }

  /** Sends a session message to the visitor's page (messages.ts); throws AgentError, sends nothing then. */
  sendSessionMessage(name: string, data: unknown): void {
    const json = checkMessage(name, data);
    if (this.currentState !== "joined" || !this.conn) throw new AgentError("notjoined", "not in a session");
    if (!this.conn.send(msg<SessionMessageMsg>({ t: "message", name, data: JSON.parse(json) as unknown }))) {
      throw new AgentError("conndrop", "not connected to the server; try again");
    }
  }

  /** Close the connection and forget the session; pending promises are rejected with `err`. */
  private shutdown(err: AgentError): void {
    const conn = this.conn;
    conn?.close(); // reports "closed" while still the current connection
    this.conn = null;
    this.viewer.clear();
    this.sequencer.reset();
    this.info = null;
    this.joinMsg = null;
    this.guestMsg = null;
    this.pendingJoin?.reject(err);
    this.pendingJoin = null;
    this.pendingEnd?.reject(err);
    this.pendingEnd = null;
    this.rc.reset();
  }

  private onOpen(conn: Connection): void {
    if (this.conn !== conn) return;
    // After a reconnect the server starts over with its current snapshot.
    this.sequencer.expectSnapshot();
    if (this.guestMsg) {
      // a guest link is single use: a reconnect presents it again and the server refuses it (badinvite)
      conn.send(msg<GuestJoinMsg>({ t: "guestjoin", token: this.guestMsg.token, name: this.guestMsg.name }));
      return;
    }
    if (!this.joinMsg) return;
    conn.send(msg<JoinMsg>({ t: "join", key: this.joinMsg.key, group: this.joinMsg.group }));
  }

  private onMessage(conn: Connection, m: ServerToAgent): void {
    if (this.conn !== conn) return;
    if (this.softError && m.t !== "error") {
      this.softError = false;
      this.lastError = null;
    }
    switch (m.t) {
      case "joined": {
        this.info = joinedInfo(m);
        this.lastError = null;
        this.setState("joined");
        this.pendingJoin?.resolve(this.info);
        this.pendingJoin = null;
        this.events.emit("joined", this.info);
        this.rc.onJoined(m.rc);
        break;
      }
      case "events":
        if (isEventsFrame(m)) this.onFrame(conn, m);
        break;
      case "page": {
        const page = { url: String(m.url ?? ""), title: String(m.title ?? "") };
        const previous = this.info?.page?.url ?? null;
        if (this.info) this.info.page = page;
        this.events.emit("page", page);
        // `page` also repeats the current page (after a join or reconnect); `navigate` is only a real move
        if (previous !== page.url) this.events.emit("navigate", { ...page });
        break;
      }
      case "visitor": {
        const connected = Boolean(m.connected);
        const tabs = Number.isInteger(m.tabs) && m.tabs >= 0 ? m.tabs : connected ? 1 : 0;
        if (this.info) {
          this.info.visitorConnected = connected;
          this.info.visitorTabs = tabs;
        }
        this.events.emit("visitor", { connected, tabs });
        this.events.emit("pagevisibility", { visible: connected });
        break;
      }
      case "agents": {
        const agents = { count: m.count, agentlist: Array.isArray(m.agentlist) ? [...m.agentlist] : [] };
        if (this.info) this.info.agents = agents;
        this.events.emit("agents", agents);
        break;
      }
      case "message":
        if (typeof m.name === "string") {
          this.events.emit("message", { name: m.name, data: m.data });
          this.messages.dispatch(m.name, m.data);
        }
        break;
      case "pause": {
        const pause = pauseState(m);
        if (this.info) this.info.pause = pause;
        this.events.emit("pause", pause);
        break;
      }
      case "rc": {
        const { enabled, suspended } = rcFromWire(m);
        if (this.info) this.info.rc = { enabled, suspended };
        this.rc.onRc(m);
        break;
      }
      case "guest_request":
        this.events.emit("guestrequest", { guestid: Number(m.guestid), name: String(m.name ?? "") });
        break;
      case "guest_answered":
        this.events.emit("guestanswered", { guestid: Number(m.guestid), accept: m.accept === true });
        break;
      case "addguestaccepted":
        this.events.emit("addguestaccepted", { guestid: Number(m.guestid) });
        break;
      case "addguestdeclined":
        this.lastError = { code: "guestdeclined", msg: "an agent declined your request to join" };
        this.events.emit("addguestdeclined", { guestid: Number(m.guestid) });
        break;
      case "ended":
        this.onEnded(conn, m.reason);
        break;
      case "error":
        if (m.code === "accessdenied") this.events.emit("accessdenied", { code: "accessdenied", msg: String(m.msg ?? "") });
        this.onError(String(m.code), String(m.msg ?? ""));
        break;
      default:
        // Unknown types are ignored so that later server versions can add messages.
        break;
    }
  }

  private onFrame(conn: Connection, frame: EventsMsg): void {
    const verdict = this.sequencer.accept(frame);
    let applied: Promise<void>;
    try {
      if (verdict === "snapshot") applied = frame.masked === true ? this.viewer.startMasked() : this.viewer.startEpoch(frame.data);
      else if (verdict === "apply") applied = this.viewer.addEvents(frame.data);
      else {
        if (verdict === "gap") conn.send(msg({ t: "resync" }));
        return;
      }
    } catch (err) {
      console.error("cobrowse: the replayer failed on a frame", err);
      return;
    }
    const info = { seq: frame.seq, epoch: frame.epoch, snapshot: frame.snapshot, masked: this.viewer.masked };
    applied.then(() => {
      if (this.conn === conn) this.events.emit("events", info);
    });
  }

  private onEnded(conn: Connection, reason: EndReason): void {
    conn.close();
    this.conn = null;
    this.rc.reset();
    this.setState("ended");
    this.events.emit("ended", { reason });
    this.events.emit("sessionend", { reason });
    this.pendingEnd?.resolve();
    this.pendingEnd = null;
    this.pendingJoin?.reject(new AgentError("ended", `the session has ended (${reason})`));
    this.pendingJoin = null;
  }

  private onError(code: string, message: string): void {
    if (RC_REFUSALS.has(code) && this.currentState === "joined" && !this.pendingJoin) {
      // A refused control request or command: the server keeps the socket open and the session goes on. It is
      // still the reason of a close that follows at once (an `admit` refused for a missing permission).
      this.lastError = { code, msg: message };
      this.softError = true;
      this.rc.onRefused();
      this.events.emit("error", { code, msg: message });
      return;
    }
    this.lastError = { code, msg: message };
    this.events.emit("error", { code, msg: message });
    if (this.pendingJoin) {
      this.pendingJoin.reject(new AgentError(code, message || code));
      this.pendingJoin = null;
      this.setState("error");
    } else if (!TRANSIENT_ERRORS.has(code)) {
      this.setState("error");
    }
  }

  private onClosed(conn: Connection, code: number, reason: string): void {
    if (this.conn !== conn) return;
    this.conn = null;
    this.rc.reset();
    const err = this.lastError ?? {
      code: "conndrop",
      msg: `the connection to the server closed (${code}${reason ? `: ${reason}` : ""})`,
    };
    if (!this.lastError) this.events.emit("error", err);
    this.pendingJoin?.reject(new AgentError(err.code, err.msg));
    this.pendingJoin = null;
    this.pendingEnd?.reject(new AgentError(err.code, err.msg));
    this.pendingEnd = null;
    this.setState("error");
  }

  private setState(state: AgentState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.events.emit("state", { state });
  }
}
