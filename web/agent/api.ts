/**
 * The public face of the agent console: the types of `window.CobrowseAgent` (documented in docs/agent-api.md).
 *
 * Kept apart from the implementation so that embedding pages and tests read one small file for the contract,
 * and later issues (remote control, guests) extend it here first.
 */

import type { AgentsInfo, ControlMsg, EndReason, PageInfo, PauseState, RcState, VisitorInfo } from "../shared/protocol";

/** Where the agent stands with respect to a session. */
export type AgentState = "idle" | "connecting" | "joined" | "ended" | "error";

/** The state of the WebSocket to the server. */
export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "closed";

export interface JoinOptions {
  /** Only join a session of this group; any of the agent's groups when absent. */
  group?: number;
}

/** What the console knows about the joined session; kept current as `page`, `visitor`, `agents` arrive. */
export interface JoinedInfo {
  /** The call id (the visitor's `getCallId()`). */
  session: number;
  key: string;
  group: number;
  visitor: VisitorInfo;
  page: PageInfo | null;
  visitorConnected: boolean;
  /** How many of the visitor's pages (tabs) are in session; the view shows the one they used last. */
  visitorTabs: number;
  agents: AgentsInfo;
  /** Whether the visitor has paused the session (`pauseSession`), and the message they gave (HTML, unsanitised). */
  pause: PauseState;
  /** Remote control as it stands when joining (a session in control continues it for a late joiner). */
  rc: RcState;
}

/**
 * Remote control as this agent sees it (`CobrowseAgent.rc`, the `rc` event): `enabled` while agents may
 * control the visitor's page, `suspended` while the visitor's own input pauses it, `declined` when the visitor
 * said no to a request, and `requested` while this agent's request waits for the visitor's answer.
 */
export interface RcInfo {
  enabled: boolean;
  suspended: boolean;
  declined: boolean;
  requested: boolean;
}

/** A remote-control command for `CobrowseAgent.control()`: the wire's fields; `epoch` defaults to the view's. */
export type ControlCommand = Pick<ControlMsg, "op"> & Partial<Omit<ControlMsg, "v" | "t" | "op" | "agent">>;

export interface FrameInfo {
  seq: number;
  epoch: number;
  snapshot: boolean;
  /** The visitor's page is masked: this epoch shows "This page is masked" and nothing of the page. */
  masked: boolean;
}

/** Events of `CobrowseAgent.on(name, fn)` and what `fn` receives. */
export interface AgentEvents {
  joined: JoinedInfo;
  /** A page-event frame was handed to the replayer and applied. */
  events: FrameInfo;
  page: PageInfo;
  /** The visitor's page connection dropped or came back, or a tab opened or closed (`tabs`: pages in session). */
  visitor: { connected: boolean; tabs: number };
  agents: AgentsInfo;
  ended: { reason: EndReason };
  /** The visitor moved to a page with another URL (not fired for the same page repeated after a join). */
  navigate: PageInfo;
  /** The visitor's page is connected (`visible` true) or gone (navigating, closed, or its connection lost). */
  pagevisibility: { visible: boolean };
  /** The same as `ended` (the name the API uses). */
  sessionend: { reason: EndReason };
  error: { code: string; msg: string };
  /** The server refused this agent: a missing permission or the group's role policy (then `error` follows). */
  accessdenied: { code: string; msg: string };
  connection: { status: ConnectionStatus };
  /** The agent's state changed (not in the wire protocol; convenient for UIs). */
  state: { state: AgentState };
  /** A session message from the visitor's page (`Visitor.sendSessionMessage`). */
  message: { name: string; data: unknown };
  /** The visitor paused or resumed the session (`Visitor.pauseSession`). */
  pause: PauseState;
  /** A guest waits for admission (answer with `admitGuest`). */
  guestrequest: { guestid: number; name: string };
  /** A waiting guest was admitted or declined (by any agent), or left (`accept` false). */
  guestanswered: { guestid: number; accept: boolean };
  /** As a guest: an agent admitted you (`joined` follows) or declined you. */
  addguestaccepted: { guestid: number };
  addguestdeclined: { guestid: number };
  /** Remote control changed: granted, suspended or resumed by the visitor's input, taken back, declined,
   * released, or requested by this agent (also when it ends with the session). */
  rc: RcInfo;
}

/** A guest invitation link (single use; expires). */
export interface GuestInvitation {
  url: string;
  expiresAt: string;
}

/** One live session of the agent's groups (`listSessions`). */
export interface LiveSessionInfo {
  session: number;
  key: string;
  group: number;
  visitorName: string | null;
  startedAt: string;
  pageUrl: string | null;
  pageTitle: string | null;
}

/** An error with the protocol's error code (`notfound`, `forbidden`, `badkey`, ...). */
export class AgentError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "AgentError";
    this.code = code;
  }
}

export interface CobrowseAgentApi {
  join(key: string, opts?: JoinOptions): Promise<JoinedInfo>;
  leave(): void;
  end(): Promise<void>;
  on<K extends keyof AgentEvents>(event: K, fn: (data: AgentEvents[K]) => void): void;
  off<K extends keyof AgentEvents>(event: K, fn: (data: AgentEvents[K]) => void): void;
  readonly state: AgentState;
  readonly session: JoinedInfo | null;
  readonly connection: ConnectionStatus;
  readonly lastSeq: number | null;
  readonly epoch: number | null;
  replayFrame(): HTMLIFrameElement | null;
  /** Sends a session message to the visitor's page; throws `badmessage`, `notjoined` or `conndrop`. */
  sendSessionMessage(name: string, msg: unknown): void;
  /** Calls `handler(name, msg)` for each message of that name from the visitor's page. */
  addSessionMessageListener(name: string, handler: (name: string, msg: unknown) => void): void;
  removeSessionMessageListener(name: string, handler: (name: string, msg: unknown) => void): void;
  /** Creates a single-use guest link into the joined session (needs `invite_guests`). */
  inviteGuest(): Promise<GuestInvitation>;
  /** Admits (`accept` true) or declines a waiting guest (needs `invite_guests`). */
  admitGuest(guestid: number, accept: boolean): void;
  /** The live sessions of the agent's groups. */
  listSessions(): Promise<LiveSessionInfo[]>;
  /** As an invited guest: ask to join with the link's token; resolves when admitted and joined. */
  joinAsGuest(token: string, name: string): Promise<JoinedInfo>;
  /** Asks the visitor for remote control (needs `remote_control`); the answer arrives as an `rc` event. */
  requestControl(): void;
  /** Gives control back: off for the session until the visitor enables it again. */
  releaseControl(): void;
  /** Remote control as this agent sees it. */
  readonly rc: RcInfo;
  /** Sends one remote-control command as is (the console's mouse and keyboard use this; so can tests). */
  control(cmd: ControlCommand): void;
}
