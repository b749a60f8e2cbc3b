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
 * - drops (not navigation): reconnects with backoff that send `resume` (reconnect.ts); `error` `conndrop`
 *   only when they fail for too long. A socket closing because the page unloads is not a drop. The page keeps
 *   recording meanwhile: on `resumed` the outbox resends what the server missed and numbering goes on in the
 *   same epoch (outbox.ts "Resending"), unless that is impossible or the server may have restarted (its
 *   late-join log is gone): then a fresh full snapshot, as on a new page.
 * - tabs: every page of the site in session connects; the server shows agents one of them. A page not shown
 *   (`tab` {active: false}) records nothing and sends no page events, without telling anyone (unlike a pause);
 *   shown again (`tab` {active: true, epoch, seq}) it numbers on from the server's position with a fresh
 *   snapshot. focus.ts reports the window's focus to the server and fires `blur` / `focus`.
 */

import type {
  FocusMsg,
  MaskingConfig,
  PageMsg,
  ResumeMsg,
  ServerToVisitor,
  StartedMsg,
  StartMsg,
  StopMsg,
  TabMsg,
  VisitorToServer,
} from "../shared/protocol";
import { msg } from "../shared/protocol";
import { Capture } from "./capture";
import type { LoaderConfig } from "./config";
import type { CookieStore, SessionCookie } from "./cookie";
import type { Emitter, SessionEndReason, VisitorEventMap } from "./events";
import { TabFocus } from "./focus";
import { VisitorError } from "./keys";
import { MaskingController } from "./masking/controller";
import { HIGH_WATER_BYTES, Outbox } from "./outbox";
import { Reconnector } from "./reconnect";
import { Transport } from "./transport";

export const READYSTATE = {
  sessionend: "sessionend",
  sessionstarting: "sessionstarting",
  sessionstart: "sessionstart",
  sessioncontinue: "sessioncontinue",
  statereceived: "statereceived",
} as const;
export type ReadyState = (typeof READYSTATE)[keyof typeof READYSTATE];

/** Server error codes after which the session cannot go on. */
const FATAL_CODES = new Set(["dupkey", "badkey", "invalidparams", "badgroup", "malformed", "unknowntype", "version",
  "forbidden", "notfound", "ended", "unauthenticated"]);

type Phase = "idle" | "starting" | "resuming" | "live" | "reconnecting";

/**
 * What the rest of the visitor API (visitor-api.ts: messages, user state, pause, canvas) plugs into the
 * session: the server's messages the client does not handle itself, the start of each page's session, the
 * end, and each new full snapshot.
 */
export interface SessionExtension {
  /** `started` / `resumed` arrived and the socket is live; runs before `sessionstart` ... `statereceived`. */
  onStarted(m: StartedMsg): void;
  /** A server message the client does not handle itself (`message`). */
  onMessage(m: ServerToVisitor): void;
  /** The recording took a full snapshot (a new epoch). */
  onSnapshot(): void;
  /**
   * The server shows this tab to agents again (`tab` {active: true}) after another tab: what the server
   * keeps per shown page (a pause) must be said again, as after `resumed`.
   */
  onShown(): void;
  /** The session is over (any reason); runs before `sessionend`. */
  onEnd(): void;
}

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
  /** Masking rules of this page (masking/controller.ts): nothing is recorded before they are known. */
  readonly masking: MaskingController;
  private pendingStart: StartMsg | null = null;
  private readonly reconnector: Reconnector;
  /** Which tab carries the session (focus.ts). */
  private readonly focus: TabFocus;
  /**
   * The session went live on this page: its recording may go on across a reconnect. False on a page that
   * has not been confirmed yet (its first `resumed` is still to come).
   */
  private liveHere = false;
  /** The group's masking configuration as `started` / `resumed` gave it (a reconnect compares it). */
  private maskingConfig: MaskingConfig | undefined;
  private unloading = false;
  /** Hooks of the rest of the visitor API (visitor-api.ts, ...), called in the order added. */
  readonly extensions: Partial<SessionExtension>[] = [];

  constructor(
    private readonly config: LoaderConfig,
    private readonly cookies: CookieStore,
    private readonly events: Emitter<VisitorEventMap>,
    hostTag: string,
  ) {
    this.info = cookies.read();
    this.transport = this.newTransport();
    this.outbox = new Outbox({
      sendFrame: (text, head, resent) => {
        const sent = this.transport.sendText(text);
        if (sent && !resent) this.capture.frameSent(head);
        return sent;
      },
      // Never while paused (pause.ts): what waits then is dropped at the unpause, which sends a full update.
      // Never from a tab the server does not show (it would ignore them).
      canSend: () =>
        this.phase === "live" && this.transport.isOpen && this.transport.bufferedAmount < HIGH_WATER_BYTES &&
        !this.capture.held && this.focus.shown,
      // The title goes out only with an unmasked page's snapshot: a masked page's title may name what it hides.
      beforeSnapshot: (masked) => this.transport.send(msg<PageMsg>({ t: "page", ...pageInfo(!masked) })),
      requestSnapshot: () => this.masking.snapshotRequested(),
      check: (parts, snapshot) => this.masking.checkBatch(parts, snapshot),
    });
    this.capture = new Capture({
      hostTag,
      emit: (event) => {
        this.outbox.push(event);
        if (event.type === 2) this.notify("onSnapshot"); // FullSnapshot
      },
    });
    this.masking = new MaskingController({
      settings: config.settings,
      capture: this.capture,
      outbox: this.outbox,
      events,
      session: () => this.info?.session ?? null,
      live: () => this.recordingAllowed,
    });
    this.reconnector = new Reconnector({
      connect: () => {
        if (this.phase === "reconnecting") this.transport.connect();
      },
      connecting: () => this.transport.active,
      giveUp: () => {
        this.events.emit("error", { code: "conndrop", msg: "cobrowse: lost the connection to the server" });
        this.end("error");
      },
      wentOffline: () => {
        if (this.phase !== "live") return;
        this.transport.close(1000, "offline");
        this.dropped(1006, true);
      },
    });
    this.focus = new TabFocus({
      events,
      send: (focused) => this.sendControl(msg<FocusMsg>({ t: "focus", focused })),
    });
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
  /** True while the socket is open and the server has confirmed the session on this page. */
  get live(): boolean {
    return this.phase === "live" && this.transport.isOpen;
  }
  /** True while the page is being recorded. */
  get recording(): boolean {
    return this.capture.running;
  }

  /** True while the server shows this page to agents (of the visitor's tabs in session, the one they see). */
  get shown(): boolean {
    return this.focus.shown;
  }

  /**
   * The page may record (and masking may restart the recording): the session is live on this page, or was
   * and is reconnecting (what is recorded then waits in the outbox), and the server shows this tab.
   */
  private get recordingAllowed(): boolean {
    const phase = this.phase === "live" || (this.phase === "reconnecting" && this.liveHere);
    return phase && this.focus.shown;
  }

  /**
   * Remote control's way to the page (rc-commands.ts): the node rrweb numbered `id` in the current recording,
   * if `epoch` is one this recording sent, else null.
   */
  recordedNode(id: number, epoch: number): Node | null {
    return this.capture.recordedNode(id, epoch);
  }

  /** True if `epoch` was sent by the recording running now (remote control drops commands of any other). */
  isCurrentEpoch(epoch: number): boolean {
    return this.capture.isCurrentEpoch(epoch);
  }

  /** Sends a control message (message, userstate, pause) now; false when not live (the caller keeps it). */
  sendControl(m: VisitorToServer): boolean {
    return this.live && this.transport.send(m);
  }

  /**
   * Pause: what was recorded before goes out, then the recording stops and nothing more of the page is
   * recorded or sent until `releaseCapture()` (no buffering: the unpause sends a full snapshot instead).
   */
  holdCapture(): void {
    this.outbox.flush();
    this.capture.held = true;
    this.capture.stop();
    this.outbox.clear();
  }

  /**
   * Ends a pause with a full update (a new epoch): the recording restarts under the page's current masking
   * rules, or a masked page sends its masked frame; what waited during the pause (a masked frame) is dropped.
   * Rules still unknown: recording starts when they are (masking/controller.ts).
   */
  releaseCapture(): void {
    this.capture.held = false;
    this.outbox.clear();
    if (!this.recordingAllowed) return;
    this.capture.start();
    if (!this.capture.running) this.masking.snapshotRequested();
  }

  /** Continues the session named in the cookie, if any (called once the UI is ready to hear events). */
  resume(): void {
    if (!this.info || this.phase !== "idle") return;
    this.phase = "resuming";
    this.transport.connect();
  }

  /**
   * Cross-domain arrival (cross-domain-arrival.ts): this page redeemed a token for a session of another domain
   * of the site. That session becomes this page's (its cookie written here, replacing any other) and resumes.
   */
  adopt(cookie: SessionCookie): void {
    if (this.phase !== "idle") return;
    this.info = cookie;
    this.cookies.write(cookie);
    this.resume();
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
    this.outbox.forgetSent();
    this.masking.newPage();
    this.reconnector.reset();
    this.liveHere = false;
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
        this.masking.agentsChanged({ count: m.count, agentlist: m.agentlist });
        break;
      case "snapshot_request":
        this.masking.snapshotRequested();
        break;
      case "tab":
        this.onTab(m);
        break;
      case "ended":
        this.end(m.reason === "agent" || m.reason === "visitor" ? m.reason : "error");
        break;
      case "error":
        this.onServerError(m.code, m.msg);
        break;
      default:
        this.notify("onMessage", m);
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
    // A reconnect of a page that was live and shown may go on where the server stands (outbox.ts).
    const mayContinue =
      wasPhase === "reconnecting" && this.liveHere && this.focus.shown && !this.reconnector.serverMayHaveRestarted &&
      JSON.stringify(m.masking) === JSON.stringify(this.maskingConfig);
    this.reconnector.reset();
    this.phase = "live";
    this.maskingConfig = m.masking;
    const firstOnPage = !this.liveHere;
    this.liveHere = true;
    this.focus.live(firstOnPage);
    this.notify("onStarted", m);
    if (!(mayContinue && this.outbox.resumeAt(m.epoch, m.seq))) {
      // A new epoch, under the page's masking rules: asked first on a new page (nothing is recorded until
      // they are known), applied again after a reconnect. Before the events, so that `isPageMasked()` is true
      // in their listeners while the rules are not known, and a listener that stops the session stops it all.
      this.outbox.reset(m.epoch, m.seq);
      this.capture.epochs.reset();
      this.masking.sessionLive(m.masking, m.t === "started");
    }
    const ids = { key: m.key, callid: m.session };
    if (m.t === "started") this.setState(READYSTATE.sessionstart, { ...ids, random: m.random });
    if (wasPhase === "reconnecting") this.events.emit("connection", { status: "ok" });
    if (this.readyState !== READYSTATE.statereceived) {
      this.setState(READYSTATE.sessioncontinue, ids);
      this.setState(READYSTATE.statereceived, {});
    }
  }

  /**
   * The server shows another of the visitor's tabs (`active` false): stop recording and drop what waits,
   * silently (the server ignores this page's events now). Or it shows this one again: number on from the
   * server's position with a fresh snapshot under the page's masking rules.
   */
  private onTab(m: TabMsg): void {
    if (this.phase !== "live") return;
    if (!m.active) {
      this.focus.tab(false);
      this.capture.stop();
      this.outbox.clear();
      this.outbox.forgetSent();
      return;
    }
    this.focus.tab(true);
    this.outbox.reset(m.epoch, m.seq);
    this.capture.epochs.reset();
    this.notify("onShown");
    this.masking.sessionLive(this.maskingConfig, false);
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
      this.dropped(code, opened);
    }
  }

  /**
   * The connection dropped, or an attempt to reconnect failed: try again later (reconnect.ts). The recording
   * goes on into the outbox if the page was live; a page still waiting for its first `resumed` has nothing
   * recorded yet.
   */
  private dropped(code: number, opened: boolean): void {
    if (this.phase !== "reconnecting") this.events.emit("connection", { status: "reconnecting" });
    this.phase = "reconnecting";
    this.reconnector.closed(code, opened);
  }

  /** Ends the session from the server's side or on failure: closes everything, then `sessionend`. */
  private end(reason: SessionEndReason): void {
    this.transport.close();
    this.finish(reason);
  }

  private finish(reason: SessionEndReason): void {
    const had = this.info !== null || this.phase !== "idle";
    this.reconnector.reset();
    this.masking.stop();
    this.capture.stop();
    this.outbox.clear();
    this.outbox.forgetSent();
    this.focus.ended();
    this.cookies.clear();
    this.info = null;
    this.requestedKey = null;
    this.pendingStart = null;
    this.phase = "idle";
    this.liveHere = false;
    this.maskingConfig = undefined;
    if (had) this.notify("onEnd");
    if (had) this.setState(READYSTATE.sessionend, { reason });
  }

  private notify<K extends keyof SessionExtension>(name: K, ...args: Parameters<SessionExtension[K]>): void {
    for (const ext of this.extensions) {
      (ext[name] as ((...a: Parameters<SessionExtension[K]>) => void) | undefined)?.apply(ext, args);
    }
  }

  private setState<K extends ReadyState>(state: K, payload: VisitorEventMap[K]): void {
    this.readyState = state;
    this.events.emit(state, payload);
  }
}

/** The page the visitor is on, as sent with `start`, `resume` and every snapshot. */
/**
 * Where the visitor is, for the agent's header. The title is left out (`withTitle` false) until the page is
 * known to be unmasked: at start and resume the masking rules are not known yet.
 */
export function pageInfo(withTitle = false): { url: string; title: string } {
  return { url: location.href, title: withTitle ? document.title : "" };
}
