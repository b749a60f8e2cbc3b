/**
 * Wire protocol v1, shared by the visitor SDK and the agent console.
 * The one definition on the browser side; the Python one is src/cobrowse/protocol/messages.py.
 * See docs/protocol.md for the rules behind each field.
 */

export const PROTOCOL_VERSION = 1 as const;

/** Session keys: 1 to 100 letters, digits, `_`, `-` or `~`. */
export const KEY_PATTERN = /^[A-Za-z0-9_~-]{1,100}$/;
export const KEY_RULE =
  "a session key is 1 to 100 characters, each a letter, a digit, '_', '-' or '~'";
export const RANDOM_KEY = "GLANCE_KEYTYPE_RANDOM";

export interface PageInfo {
  url: string;
  title: string;
}

export interface VisitorInfo {
  name: string | null;
  email: string | null;
  phone: string | null;
  visitorid: string | null;
}

export interface AgentEntry {
  username?: string;
  guestid?: number;
  partnerid?: number | string;
  partneruserid?: string;
  name: string;
  title?: string;
  role: "agent" | "guest";
  agentrole?: string | null;
  num: number;
}

export interface AgentsInfo {
  count: number;
  agentlist: AgentEntry[];
}

export type EndReason = "agent" | "visitor" | "error" | "timeout";

interface Base<T extends string> {
  v: typeof PROTOCOL_VERSION;
  t: T;
}

/** rrweb events are opaque to the protocol; the console and SDK type them with rrweb's own types. */
export type OpaqueEvent = { type: number; timestamp: number; [k: string]: unknown };

export interface EventsMsg extends Base<"events"> {
  seq: number;
  epoch: number;
  snapshot: boolean;
  /** A snapshot frame of a masked page: `data` carries nothing of the page; the console shows a panel. */
  masked?: boolean;
  data: OpaqueEvent[];
}

/** Page masking by URL: glob patterns (`*` matches any run of characters) against the full URL. */
export interface MaskingPages {
  allow: string[];
  deny: string[];
}

/** The group's masking rules, sent with `started` / `resumed`. */
export interface MaskingConfig {
  selectors: string[];
  pages: MaskingPages;
}

export interface PauseState {
  pause: boolean;
  message: string | null;
}

/**
 * Remote control of the session: `enabled` by the visitor (accepting a request, or `enableRC(true)`),
 * `suspended` for a moment while the visitor uses their own mouse or keyboard.
 */
export interface RcState {
  enabled: boolean;
  suspended: boolean;
}

/** Limits the server enforces (docs/protocol.md); the SDK and console check them first. */
export const MAX_MESSAGE_DATA = 64 * 1024;
export const MAX_NAME = 100;
export const MAX_USER_STATES = 100;
export const MAX_PAUSE_MESSAGE = 16 * 1024;

// visitor -> server
export interface StartMsg extends Base<"start"> {
  group: number;
  key: string | null;
  visitor: VisitorInfo;
  page: PageInfo;
}
export interface ResumeMsg extends Base<"resume"> {
  session: number;
  token: string;
  page: PageInfo;
}
export interface PageMsg extends Base<"page">, PageInfo {}
export interface StopMsg extends Base<"stop"> {}
/** sendSessionMessage: visitor -> agents, or agent -> visitor. `data` is any JSON value. */
export interface SessionMessageMsg extends Base<"message"> {
  name: string;
  data: unknown;
}
export interface UserStateMsg extends Base<"userstate"> {
  name: string;
  data: unknown;
}
export interface PauseMsg extends Base<"pause">, PauseState {}
/**
 * Remote control on or off. Visitor -> server: its consent (`declined` answers a request with no).
 * Server -> agents: the session's state; server -> visitor: an agent released control (enabled false).
 */
export interface RcMsg extends Base<"rc">, RcState {
  declined: boolean;
}
/** This page got (`focused`) or lost the visitor's attention (window focus, tab visibility). */
export interface FocusMsg extends Base<"focus"> {
  focused: boolean;
}
/** Ask for a one-time token to continue the session at `url` (its origin must be trusted). */
export interface XDomainMsg extends Base<"xdomain"> {
  id: number;
  url: string;
}
/** First message of a page opened with `#glance_xd=TOKEN`: answered with `xredeemed`, then the socket closes. */
export interface XRedeemMsg extends Base<"xredeem"> {
  token: string;
}
export type VisitorToServer =
  | StartMsg
  | ResumeMsg
  | EventsMsg
  | PageMsg
  | StopMsg
  | SessionMessageMsg
  | UserStateMsg
  | PauseMsg
  | RcMsg
  | FocusMsg
  | XDomainMsg
  | XRedeemMsg;

// server -> visitor
export interface StartedMsg extends Base<"started" | "resumed"> {
  session: number;
  key: string;
  random: boolean;
  token: string;
  epoch: number;
  seq: number;
  masking: MaskingConfig;
  /** The session's user state (setUserState), available to the new page once `statereceived` fires. */
  userstate: Record<string, unknown>;
  /** Remote control as it stands: a new page of the session continues it. */
  rc: RcState;
  /** The group's trusted origins (cross-domain): links to them carry the session. */
  xdomains: string[];
}
/**
 * Whether this page carries the session. The active tab records, continuing at `epoch` + 1 / `seq` + 1 with a
 * full snapshot; an inactive one records nothing until the visitor comes back to it.
 */
export interface TabMsg extends Base<"tab"> {
  active: boolean;
  epoch: number;
  seq: number;
}
export interface XDomainTokenMsg extends Base<"xdomain_token"> {
  id: number;
  origin: string;
  token: string;
  /** Seconds the token stays valid. */
  expires_in: number;
}
export interface XDomainRefusedMsg extends Base<"xdomain_refused"> {
  id: number;
  origin: string;
  reason: string;
}
/** What a cross-domain token continues: the page writes it to its own session cookie, then resumes. */
export interface XRedeemedMsg extends Base<"xredeemed"> {
  session: number;
  key: string;
  random: boolean;
  token: string;
  group: number;
}
/** A cross-domain token of this session was redeemed by a page of `origin`. */
export interface XDomainDoneMsg extends Base<"xdomain_done"> {
  origin: string;
}
export interface AgentsMsg extends Base<"agents">, AgentsInfo {}
export interface SnapshotRequestMsg extends Base<"snapshot_request"> {}
export interface EndedMsg extends Base<"ended"> {
  reason: EndReason;
}
export interface ErrorMsg extends Base<"error"> {
  code: string;
  msg: string;
}
export type ServerToVisitor =
  | StartedMsg
  | AgentsMsg
  | SnapshotRequestMsg
  | EndedMsg
  | ErrorMsg
  | SessionMessageMsg
  | RcRequestMsg
  | RcMsg
  | ControlMsg
  | TabMsg
  | XDomainTokenMsg
  | XDomainRefusedMsg
  | XRedeemedMsg
  | XDomainDoneMsg;

// agent -> server
export interface JoinMsg extends Base<"join"> {
  key: string;
  group: number | null;
}
export interface ResyncMsg extends Base<"resync"> {}
export interface LeaveMsg extends Base<"leave"> {}
export interface EndMsg extends Base<"end"> {}
/** A guest's hello on /ws/guest: the invitation token and its name. */
export interface GuestJoinMsg extends Base<"guestjoin"> {
  token: string;
  name: string;
}
/** An agent (with invite_guests) admits or declines a waiting guest. */
export interface AdmitMsg extends Base<"admit"> {
  guestid: number;
  accept: boolean;
}
/**
 * An agent (with `remote_control`) asks for control. To the visitor the server adds the asking agent's
 * `num` and `name` (an agent sends them as 0 and "").
 */
export interface RcRequestMsg extends Base<"rc_request"> {
  num: number;
  name: string;
}
/** An agent gives control back: off for the session until the visitor enables it again. */
export interface RcReleaseMsg extends Base<"rc_release"> {}

export type ControlOp = "move" | "click" | "dblclick" | "focus" | "key" | "text" | "select" | "scroll" | "selecttext";
/** Longest `text` of a control command (characters), longest key name, largest scroll step (px per axis). */
export const MAX_CONTROL_TEXT = 64 * 1024;
export const MAX_KEY_NAME = 32;
export const MAX_SCROLL_DELTA = 100_000;

/**
 * One remote-control command, agent -> server -> visitor (docs/protocol.md "Remote control"). `id` is an rrweb
 * node id of recording `epoch` (0: the document for `scroll`, the focused element for `key` / `text`); `x`, `y`
 * place the pointer inside that node as fractions (0..1) of its box. Fields an op does not use keep their
 * defaults. The server sets `agent` (the sender's `num`); the visitor's page checks everything again.
 */
export interface ControlMsg extends Base<"control"> {
  op: ControlOp;
  epoch: number;
  id: number;
  x: number;
  y: number;
  /** `key`: a KeyboardEvent.key value ("a", "Enter", "Tab", "ArrowDown", ...). */
  key: string;
  shift: boolean;
  ctrl: boolean;
  alt: boolean;
  meta: boolean;
  /** `text`: characters to insert at the caret; `select`: the chosen option's value. */
  text: string;
  /** `select`: the chosen option's index (-1: by value). */
  index: number;
  /** `scroll`: pixels to scroll by. */
  dx: number;
  dy: number;
  /** `selecttext`: from (`id`, `offset`) to (`end_id`, `end_offset`). */
  offset: number;
  end_id: number;
  end_offset: number;
  /** Set by the server: the `num` of the agent that sent it. */
  agent: number;
}

/** A control command with every field an op does not use at its default. */
export function controlMsg(
  fields: Pick<ControlMsg, "op" | "epoch"> & Partial<Omit<ControlMsg, "v" | "t" | "op" | "epoch">>,
): ControlMsg {
  return {
    v: PROTOCOL_VERSION, t: "control", id: 0, x: 0.5, y: 0.5, key: "", shift: false, ctrl: false, alt: false,
    meta: false, text: "", index: -1, dx: 0, dy: 0, offset: 0, end_id: 0, end_offset: 0, agent: 0, ...fields,
  };
}

export type AgentToServer =
  | JoinMsg
  | ResyncMsg
  | LeaveMsg
  | EndMsg
  | SessionMessageMsg
  | GuestJoinMsg
  | AdmitMsg
  | RcRequestMsg
  | RcReleaseMsg
  | ControlMsg;

// server -> agent
export interface JoinedMsg extends Base<"joined"> {
  session: number;
  key: string;
  group: number;
  visitor: VisitorInfo;
  page: PageInfo | null;
  visitor_connected: boolean;
  /** The visitor's pages in session (tabs); agents see the one focused last. */
  visitor_tabs: number;
  agents: AgentsInfo;
  epoch: number;
  seq: number;
  pause: PauseState;
  rc: RcState;
}
export interface VisitorStatusMsg extends Base<"visitor"> {
  connected: boolean;
  /** The visitor's pages in session (tabs); agents see the one focused last. */
  tabs: number;
}
/** To agents: a guest waits for admission. */
export interface GuestRequestMsg extends Base<"guest_request"> {
  guestid: number;
  name: string;
}
/** To agents: a waiting guest was answered (or left: accept false). */
export interface GuestAnsweredMsg extends Base<"guest_answered"> {
  guestid: number;
  accept: boolean;
}
/** To the guest: admitted (joined follows) or declined (the socket closes). */
export interface AddGuestAcceptedMsg extends Base<"addguestaccepted"> {
  guestid: number;
}
export interface AddGuestDeclinedMsg extends Base<"addguestdeclined"> {
  guestid: number;
}
export type ServerToAgent =
  | GuestRequestMsg
  | GuestAnsweredMsg
  | AddGuestAcceptedMsg
  | AddGuestDeclinedMsg
  | JoinedMsg
  | EventsMsg
  | PageMsg
  | VisitorStatusMsg
  | AgentsMsg
  | EndedMsg
  | ErrorMsg
  | SessionMessageMsg
  | PauseMsg
  | RcMsg;

/** WebSocket close codes used by the server (docs/protocol.md). */
export const CloseCode = {
  tooBig: 1009,
  service: 1011,
  malformed: 4000,
  unknownType: 4001,
  version: 4002,
  rejected: 4003,
  timeout: 4008,
  dupkey: 4009,
  unauthenticated: 4401,
  forbidden: 4403,
  notFound: 4404,
  ended: 4410,
  overloaded: 4429,
} as const;

/** Builds a message with the version filled in. */
export function msg<M extends { v: 1; t: string }>(m: Omit<M, "v">): M {
  return { v: PROTOCOL_VERSION, ...m } as M;
}
