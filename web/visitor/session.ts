/**
 * The visitor's session client: the state machine behind `GLANCE.Cobrowse.Visitor`.
 *
 * It owns one session at a time and drives the transport (one socket), the capture (rrweb) and the outbox
 * (frames) from the server's messages (docs/protocol.md). Lifecycle and why:
 * - start: `sessionstarting` at once; on `started` the cookie is written, then `sessionstart`,
 *   `sessioncontinue`, `statereceived`, and recording begins at the server's epoch + 1 / seq + 1.
 * - page load with the `glance_ssn_info` cookie: key and call id are known at once (from the cookie); the
 *   socket sends `resume`; on `resumed`, `sessioncontinue` + `statereceived` and a new recording epoch.
 * - ends: `stopSession()` (reason visitor), the server's `ended` (its reason), a refused resume or a lost
 *   connection (reason error). Every end clears the cookie and stops capture.
 * - drops (not navigation): a few reconnects with backoff that send `resume`; `error` `conndrop` only when
 *   they all fail. A socket closing because the page unloads is not a drop.
 */

import type {
  PageMsg,
  ResumeMsg,
  ServerToVisitor,
  StartedMsg,
  StartMsg,
  StopMsg,
  VisitorToServer,
} from "../shared/protocol";
import { msg } from "../shared/protocol";
import { Capture } from "./capture";
import type { LoaderConfig } from "./config";
import type { CookieStore, SessionCookie } from "./cookie";
import type { Emitter, SessionEndReason, VisitorEventMap } from "./events";
import { VisitorError } from "./keys";
import { HIGH_WATER_BYTES, Outbox } from "./outbox";
import { Transport } from "./transport";

export const READYSTATE = {
  sessionend: "sessionend",
  sessionstarting: "sessionstarting",
  sessionstart: "sessionstart",
  sessioncontinue: "sessioncontinue",
  statereceived: "statereceived",
} as const;
export type ReadyState = (typeof READYSTATE)[keyof typeof READYSTATE];

/** Reconnect delays after a dropped connection; when all fail the session ends with `conndrop`. */
const RECONNECT_DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000, 15000];
/** Server error codes after which the session cannot go on. */
const FATAL_CODES = new Set(["dupkey", "badkey", "invalidparams", "badgroup", "malformed", "unknowntype", "version",
  "forbidden", "notfound", "ended", "unauthenticated"]);

type Phase = "idle" | "starting" | "resuming" | "live" | "reconnecting";

export class SessionClient {
  readyState: ReadyState = READYSTATE.sessionend;
  /** The current session (from the cookie or `started`); null when there is none. */
  private info: SessionCookie | null;
  /** The key asked for while starting (getKey() before the server confirms it). */
  private requestedKey: string | null = null;
  private phase: Phase = "idle";
  private transport: Transport;
  private readonly outbox: Outbox;
  private readonly capture: Capture;
  private pendingStart: StartMsg | null = null;
  private attempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private unloading = false;

  constructor(
    private readonly config: LoaderConfig,
    private readonly cookies: CookieStore,
    private readonly events: Emitter<VisitorEventMap>,
    hostTag: string,
  ) {
    this.info = cookies.read();
    this.transport = this.newTransport();
    this.outbox = new Outbox({
      sendFrame: (text) => this.transport.sendText(text),
      canSend: () =>
        this.phase === "live" && this.transport.isOpen && this.transport.bufferedAmount < HIGH_WATER_BYTES,
      beforeSnapshot: () => this.transport.send(msg<PageMsg>({ t: "page", ...pageInfo() })),
      requestSnapshot: () => this.capture.snapshot(),
    });
    this.capture = new Capture({ hostTag, emit: (event) => this.outbox.push(event) });
    addEventListener("pagehide", () => {
      this.unloading = true;
    });
    addEventListener("pageshow", (event: PageTransitionEvent) => {
      this.unloading = false;
      if (event.persisted) this.restored();
    });
  }

  get inSession(): boolean {
    return this.info !== null;
  }
  get session(): SessionCookie | null {
    return this.info;
  }
  get key(): string | null {
    return this.info?.key ?? this.requestedKey;
  }
  get starting(): boolean {
    return this.phase === "starting";
  }

  /** Continues the session named in the cookie, if any (called once the UI is ready to hear events). */
  resume(): void {
    if (!this.info || this.phase !== "idle") return;
    this.phase = "resuming";
    this.transport.connect();
  }

  /**
   * Back/forward cache: the page comes back without running the script again, its socket closed meanwhile.
   * Continue if the cookie still holds our session; if another page ended it, end here too.
   */
  private restored(): void {
    if (this.transport.active || (this.phase === "idle" && !this.info)) return;
    const cookie = this.cookies.read();
    if (!cookie || (this.info && cookie.session !== this.info.session)) {
      this.end("visitor");
      return;
    }
    this.info = cookie;
    this.capture.stop();
    this.outbox.clear();
    this.phase = "resuming";
    this.transport.connect();
  }

  /** Starts a new session with an already validated `start` message. */
  start(start: StartMsg): void {
    if (this.info || this.phase !== "idle") {
      throw new VisitorError("insession", "cobrowse: a session is already active; call stopSession() first");
    }
    this.pendingStart = start;
    this.requestedKey = start.key;
    this.phase = "starting";
    this.setState(READYSTATE.sessionstarting, {});
    this.transport.connect();
  }

  /** Ends the session on the visitor's request: `stop` to the server, cookie cleared, `sessionend` visitor. */
  stop(): void {
    if (!this.info && this.phase !== "starting") return;
    const transport = this.transport;
    if (this.phase === "live" && transport.isOpen) {
      transport.send(msg<StopMsg>({ t: "stop" }));
      transport.close(1000, "stopped");
    } else {
      // Not confirmed yet (starting, resuming, reconnecting): a socket finishes the handshake in the
      // background and then stops what it started, so the session does not linger on the server.
      const hello: VisitorToServer | null = this.pendingStart
        ? this.pendingStart
        : this.info
          ? msg<ResumeMsg>({ t: "resume", session: this.info.session, token: this.info.token, page: pageInfo() })
          : null;
      if (hello) this.drain(transport, hello);
      else transport.close();
    }
    this.transport = this.newTransport();
    this.finish("visitor");
  }

  private newTransport(): Transport {
    return new Transport(this.config.socketUrl, {
      onOpen: () => this.onOpen(),
      onMessage: (m) => this.onMessage(m),
      onClose: (code, reason, opened) => this.onClose(code, reason, opened),
    });
  }

  /**
   * Gives a socket the job of stopping a session that is not confirmed yet: it sends `hello` (start or
   * resume) unless that went out already, then `stop` once the server confirms, then closes.
   */
  private drain(transport: Transport, hello: VisitorToServer): void {
    const giveUp = setTimeout(() => transport.close(), 10_000);
    transport.handlers = {
      onOpen: () => transport.send(hello),
      onMessage: (m) => {
        if (m.t === "started" || m.t === "resumed") transport.send(msg<StopMsg>({ t: "stop" }));
        if (m.t === "agents" || m.t === "snapshot_request") return;
        clearTimeout(giveUp);
        transport.close(1000, "stopped");
      },
      onClose: () => clearTimeout(giveUp),
    };
    if (!transport.active) transport.connect();
  }

  private onOpen(): void {
    if (this.phase === "starting" && this.pendingStart) {
      this.transport.send(this.pendingStart);
    } else if ((this.phase === "resuming" || this.phase === "reconnecting") && this.info) {
      this.transport.send(msg<ResumeMsg>({ t: "resume", session: this.info.session, token: this.info.token, page: pageInfo() }));
    }
  }

  private onMessage(m: ServerToVisitor): void {
    switch (m.t) {
      case "started":
      case "resumed":
        this.onStarted(m);
        break;
      case "agents":
        this.events.emit("agents", { count: m.count, agentlist: m.agentlist });
        break;
      case "snapshot_request":
        this.capture.snapshot();
        break;
      case "ended":
        this.end(m.reason === "agent" || m.reason === "visitor" ? m.reason : "error");
        break;
      case "error":
        this.onServerError(m.code, m.msg);
        break;
    }
  }

  private onStarted(m: StartedMsg): void {
    const wasPhase = this.phase;
    const group = this.pendingStart?.group ?? this.info?.group ?? this.config.groupid;
    this.info = { ...(this.info ?? {}), session: m.session, key: m.key, token: m.token, group, random: m.random };
    this.cookies.write(this.info);
    this.pendingStart = null;
    this.requestedKey = null;
    this.phase = "live";
    this.attempts = 0;
    const ids = { key: m.key, callid: m.session };
    if (m.t === "started") this.setState(READYSTATE.sessionstart, { ...ids, random: m.random });
    if (wasPhase === "reconnecting") this.events.emit("connection", { status: "ok" });
    if (this.readyState !== READYSTATE.statereceived) {
      this.setState(READYSTATE.sessioncontinue, ids);
      this.setState(READYSTATE.statereceived, {});
    }
    // A new epoch: a running recording takes a fresh snapshot (same node ids), else recording starts.
    this.outbox.reset(m.epoch, m.seq);
    if (this.capture.running) this.capture.snapshot();
    else this.capture.start();
  }

  private onServerError(code: string, text: string): void {
    if (code === "notfound" || code === "ended") {
      // The session we tried to resume is gone: not an error of this page, just the end of the session.
      this.end("error");
    } else if (FATAL_CODES.has(code)) {
      this.events.emit("error", { code, msg: text });
      this.end("error");
    } else {
      // "service", "timeout", "overloaded": the session goes on; the close that follows reconnects.
      this.events.emit("error", { code, msg: text });
    }
  }

  private onClose(code: number, reason: string, opened: boolean): void {
    if (this.unloading || this.phase === "idle") return;
    this.outbox.clear();
    if (this.phase === "starting") {
      const why = opened ? `connection closed (${code} ${reason})` : "cannot reach the cobrowse server";
      this.events.emit("error", { code: "service", msg: `cobrowse: ${why}` });
      this.end("error");
    } else if (code === 4404 || code === 4410) {
      this.end("error");
    } else if (code === 1009) {
      this.events.emit("error", { code: "service", msg: "cobrowse: the page is too large to share" });
      this.end("error");
    } else {
      this.reconnect();
    }
  }

  private reconnect(): void {
    if (this.attempts >= RECONNECT_DELAYS_MS.length) {
      this.events.emit("error", { code: "conndrop", msg: "cobrowse: lost the connection to the server" });
      this.end("error");
      return;
    }
    if (this.phase !== "reconnecting") this.events.emit("connection", { status: "reconnecting" });
    this.phase = "reconnecting";
    this.capture.stop();
    const delay = RECONNECT_DELAYS_MS[this.attempts++];
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.phase === "reconnecting") this.transport.connect();
    }, delay);
  }

  /** Ends the session from the server's side or on failure: closes everything, then `sessionend`. */
  private end(reason: SessionEndReason): void {
    this.transport.close();
    this.finish(reason);
  }

  private finish(reason: SessionEndReason): void {
    const had = this.info !== null || this.phase !== "idle";
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.capture.stop();
    this.outbox.clear();
    this.cookies.clear();
    this.info = null;
    this.requestedKey = null;
    this.pendingStart = null;
    this.phase = "idle";
    this.attempts = 0;
    if (had) this.setState(READYSTATE.sessionend, { reason });
  }

  private setState<K extends ReadyState>(state: K, payload: VisitorEventMap[K]): void {
    this.readyState = state;
    this.events.emit(state, payload);
  }
}

/** The page the visitor is on, as sent with `start`, `resume` and every snapshot. */
export function pageInfo(): { url: string; title: string } {
  return { url: location.href, title: document.title };
}
