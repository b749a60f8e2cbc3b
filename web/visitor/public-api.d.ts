/**
 * TypeScript declarations for the cobrowse visitor script (visitor.js): `window.GLANCE_COBROWSE`,
 * `GLANCE.Cobrowse.Visitor`, `GLANCE.Cobrowse.Loader` and `GLANCE.Cobrowse.VisitorUI`.
 *
 * Served by the cobrowse server at `/static/visitor.d.ts`. Use it with
 *   /// <reference path="./visitor.d.ts" />
 * in a site's TypeScript. Documentation: docs/visitor-api.md.
 */

declare namespace GlanceCobrowse {
  /** `GLANCE.Cobrowse.Visitor.READYSTATE` and the values of `readyState`. */
  type ReadyState = "sessionend" | "sessionstarting" | "sessionstart" | "sessioncontinue" | "statereceived";

  /** A value that can travel as JSON: session messages, user state, cookie values. */
  type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

  interface AgentEntry {
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

  interface AgentsInfo {
    count: number;
    agentlist: AgentEntry[];
  }

  /** Error codes of the `error` event and of the errors the methods throw (`error.code`). */
  type ErrorCode =
    | "service"
    | "conndrop"
    | "dupkey"
    | "maskingerror"
    | "badkey"
    | "badgroup"
    | "invalidparams"
    | "badmessage"
    | "badstate"
    | "notinsession"
    | "notready"
    | "insession"
    | "overloaded"
    | "toolarge"
    | "timeout"
    | "untrusted"
    | "badtoken"
    | (string & {});

  /** Remote control as the visitor's page sees it (`rc` event, `getSessionState("rc")`). */
  interface RcState {
    /** An agent may click and type on the page. */
    enabled: boolean;
    /** The visitor's own mouse or keyboard input paused control for a moment. */
    suspended: boolean;
  }

  /** An agent asks for remote control: answer once; a stale request's answers do nothing. */
  interface RcRequest {
    accept(): void;
    decline(): void;
    /** Always false: control covers the whole page. */
    selective: boolean;
    /** The asking agent's name and number (as in `agents`). */
    name: string;
    num: number;
  }

  /** Payloads of the visitor events (`addEventListener(name, listener)`). */
  interface VisitorEventMap {
    sessionstarting: Record<string, never>;
    sessionstart: { key: string; callid: number; random: boolean };
    sessioncontinue: { key: string; callid: number };
    statereceived: Record<string, never>;
    sessionend: { reason: "agent" | "visitor" | "error" };
    error: { code: ErrorCode; msg: string };
    agents: AgentsInfo;
    connection: { status: "reconnecting" | "ok" };
    blur: Record<string, never>;
    focus: Record<string, never>;
    maskingerror: { reason: string };
    rc: RcState;
    rcrequested: RcRequest;
  }

  /** startSession(options) / setStartParams(options) / VisitorUI.showTerms(options). */
  interface StartOptions {
    /** Group to start the session in (default: the script tag's `data-groupid`). A positive integer. */
    groupid?: number | string;
    /** 1 to 100 of `A-Z a-z 0-9 _ - ~`, or "GLANCE_KEYTYPE_RANDOM". Default: `visitorid`, else random. */
    sessionKey?: string;
    /** Up to 63 characters. */
    name?: string;
    /** Up to 127 Latin-1 characters. */
    email?: string;
    /** Up to 31 Latin-1 characters. */
    phone?: string;
    /** Only "visible" is supported. */
    content?: "visible";
    video?: "large" | "small" | "off";
    videosource?: string;
    previewelementid?: string;
    camerastatus?: "available" | "nocamera" | "blocked" | "aborted" | "notsupported" | "error";
    videopaused?: boolean;
  }

  /** crossDomain(options) / VisitorUI.promptCrossDomain(options). */
  interface CrossDomainOptions {
    /** The page to open (absolute, or relative to this page); its origin must be on the group's trust list. */
    url?: string;
    /** "_self" (default): this window; "_blank": a new one (call within a click or key handler). */
    target?: "_self" | "_blank";
  }

  /** @deprecated continueSessionAt(params): use crossDomain(). */
  interface ContinueSessionAtParams {
    /** The destination's domain (host, with a port if it has one), e.g. "example.com". */
    destination: string;
    /** A page of that domain carrying the cobrowse script (default: its home page), opened in a helper window. */
    destinationurl?: string;
    /** Called once the session has been handed to the destination domain. */
    oncomplete?: () => void;
    /** Ignored (Internet Explorer only). */
    iewarningsuppressed?: boolean;
  }

  interface PauseParams {
    pause: boolean;
    /** HTML shown to the agents over the frozen view (sanitised by the console); at most 16384 characters. */
    message?: string | null;
  }

  interface NotifyParams {
    canvas?: { gcids: string[] };
  }

  /** An error thrown by the visitor API: `name` "CobrowseError", `code` as in the `error` event. */
  interface CobrowseError extends Error {
    readonly code: ErrorCode;
  }

  interface Visitor {
    readonly READYSTATE: { readonly [S in ReadyState]: S };
    /** The page's state in the session; an event fires at each change. */
    readonly readyState: ReadyState;
    /** True once the script has loaded. */
    readonly loaded: boolean;

    addEventListener<K extends keyof VisitorEventMap>(name: K, listener: (payload: VisitorEventMap[K]) => void): void;
    addEventListener(name: string, listener: (payload: any) => void): void;
    removeEventListener<K extends keyof VisitorEventMap>(name: K, listener: (payload: VisitorEventMap[K]) => void): void;
    removeEventListener(name: string, listener: (payload: any) => void): void;

    /** Starts a session with a key, or with options; no argument: the start parameters. */
    startSession(keyOrOptions?: string | StartOptions): void;
    stopSession(): void;
    inSession(): boolean;
    getKey(): string | null;
    isRandomKey(): boolean;
    /** The session's call id (unique per session), or null outside a session. */
    getCallId(): number | null;
    setStartParams(options?: StartOptions): void;
    getStartParams(): StartOptions | undefined;

    /** * Session messages to the agents. */
    sendSessionMessage(msgName: string, msg: JsonValue): void;
    /** * Messages from the agents. */
    addSessionMessageListener(msgName: string, handler: (msgName: string, msg: JsonValue) => void): void;
    removeSessionMessageListener(msgName: string, handler: (msgName: string, msg: JsonValue) => void): void;

    /** * Stores a value on the session (server side), available on every page after `statereceived`. */
    setUserState(name: string, data: JsonValue): void;
    getUserState(name: string): JsonValue | undefined;
    /** Values in the session cookie; only after `sessioncontinue`. */
    setCookieValue(key: string, value: JsonValue): void;
    getCookieValue(key: string): JsonValue | undefined;
    /** * The payload of the most recent event of that name, or null. */
    getSessionState<K extends keyof VisitorEventMap>(eventName: K, identifier?: string): VisitorEventMap[K] | null;
    getSessionState(eventName: string, identifier?: string): unknown;

    pauseSession(params: PauseParams): void;
    isSessionPaused(): boolean;
    /** * Turns remote control on or off (the visitor's consent); `rc` fires when it changes. */
    enableRC(enable: boolean): void;
    /** Sends the named canvases' current pixels to the agents. */
    notifyChanged(params: NotifyParams): void;
    /** True if the page is masked (in session: also while its masking rules are not known yet). */
    isPageMasked(): boolean;
    isMobile(): boolean;
    /** @deprecated Use GLANCE.Cobrowse.VisitorUI.showTerms(). */
    showTerms(options?: StartOptions): void;

    /**
     * * Resolves once the session can continue on the group's trusted domains (links to them then carry it);
     * with `url`, then opens it with the session. Rejects (`untrusted`) for an origin not on the trust list.
     */
    crossDomain(options?: CrossDomainOptions | null): Promise<void>;
    /** True once crossDomain() resolved (or a link, or continueSessionAt, handed the session over) on this page. */
    isCrossDomainDone(): boolean;
    /** @deprecated * Use crossDomain(). Hands the session to `destination` before a redirect takes the visitor there. */
    continueSessionAt(params: ContinueSessionAtParams): void;
  }

  interface Loader {
    /** A custom UI calls this once it has added its listeners: held events are then delivered. */
    setUIReady(): void;
  }

  interface VisitorUI {
    ready(): Promise<void>;
    showButton(show: boolean): void;
    toggleButton(): void;
    /** Terms with Accept / Decline; Accept starts a session with `options` or the start parameters. */
    showTerms(options?: StartOptions): void;
    /** Asks "Continue sharing on HOST?"; Yes: crossDomain(options), then true; No: false. */
    promptCrossDomain(options?: CrossDomainOptions | null): Promise<boolean>;
  }

  /** window.GLANCE_COBROWSE: settings read when the script loads (the script tag's data-* win). */
  interface Settings {
    groupid?: number | string;
    visitorid?: string;
    name?: string;
    email?: string;
    phone?: string;
    ws?: string;
    ui?: "custom" | "none" | string;
    startpaused?: "1" | string;
    termsurl?: string;
    cookiedomain?: string;
    getMaskingDescriptor?: (params: { agents?: AgentsInfo }) => Promise<{ maskpage?: boolean; maskedelements?: string[] }>;
    [setting: string]: unknown;
  }
}

interface Window {
  GLANCE_COBROWSE?: GlanceCobrowse.Settings;
  GLANCE?: {
    Cobrowse?: {
      Visitor?: GlanceCobrowse.Visitor;
      Loader?: GlanceCobrowse.Loader;
      VisitorUI?: GlanceCobrowse.VisitorUI;
    };
  };
}

declare var GLANCE: NonNullable<Window["GLANCE"]>;
declare var GLANCE_COBROWSE: GlanceCobrowse.Settings | undefined;
