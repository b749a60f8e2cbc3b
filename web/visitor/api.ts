/**
 * `GLANCE.Cobrowse.Visitor`: the public visitor API, a thin face over the session client.
 *
 * Its job is the visitor API's argument rules (spec: startSession): which key, which group, which visitor
 * fields, checked synchronously so that bad input throws at the call (the message names the rule), fires
 * `error` with the same code, and never opens a socket. Methods are closures, not prototype methods, so a
 * site may pass them around (`button.onclick = Visitor.stopSession`) without losing `this`.
 * Methods of later issues (sendSessionMessage, pauseSession, ...) are absent until they exist.
 */

import type { StartMsg } from "../shared/protocol";
import { msg } from "../shared/protocol";
import type { LoaderConfig } from "./config";
import type { Emitter, Listener, VisitorEventMap } from "./events";
import { checkGroupId, checkVisitor, resolveKey, VisitorError } from "./keys";
import type { ReadyState } from "./session";
import { pageInfo, READYSTATE, SessionClient } from "./session";

/** startSession(options) / setStartParams(options); video and other options of later issues are ignored. */
export interface StartOptions {
  groupid?: number | string;
  sessionKey?: string;
  name?: string;
  email?: string;
  phone?: string;
  [option: string]: unknown;
}

export interface VisitorApi {
  readonly READYSTATE: typeof READYSTATE;
  readonly readyState: ReadyState;
  readonly loaded: boolean;
  startSession(keyOrOptions?: string | number | StartOptions | null): void;
  stopSession(): void;
  inSession(): boolean;
  getKey(): string | null;
  isRandomKey(): boolean;
  getCallId(): number | null;
  addEventListener(name: string, listener: Listener<never>): void;
  removeEventListener(name: string, listener: Listener<never>): void;
  getStartParams(): StartOptions | undefined;
  setStartParams(options?: StartOptions): void;
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

export function createVisitorApi(
  config: LoaderConfig,
  session: SessionClient,
  events: Emitter<VisitorEventMap>,
): VisitorApi {
  let startParams: StartOptions | undefined;

  /** Turns startSession's argument into a validated `start` message; throws VisitorError. */
  function buildStart(arg: string | number | StartOptions | null | undefined): StartMsg {
    let options: StartOptions;
    if (arg === undefined || arg === null) options = startParams ?? {};
    else if (typeof arg === "string" || typeof arg === "number") options = { sessionKey: String(arg) };
    else if (typeof arg === "object") options = arg;
    else throw new VisitorError("invalidparams", "cobrowse: startSession takes a session key or an options object");
    const settings = config.settings;
    const group = present(options.groupid) ? checkGroupId(options.groupid, "groupid") : config.groupid;
    const visitorid = present(settings.visitorid) ? String(settings.visitorid) : null;
    const key = resolveKey(options.sessionKey, visitorid);
    const visitor = checkVisitor({
      name: options.name ?? settings.name,
      email: options.email ?? settings.email,
      phone: options.phone ?? settings.phone,
      visitorid,
    });
    return msg<StartMsg>({ t: "start", group, key, visitor, page: pageInfo() });
  }

  const api: VisitorApi = {
    READYSTATE,
    get readyState() {
      return session.readyState;
    },
    loaded: true,

    startSession(keyOrOptions) {
      if (session.inSession || session.starting) {
        throw new VisitorError("insession", "cobrowse: a session is already active; call stopSession() first");
      }
      let start: StartMsg;
      try {
        start = buildStart(keyOrOptions);
      } catch (err) {
        if (err instanceof VisitorError) events.emit("error", { code: err.code, msg: err.message });
        throw err;
      }
      session.start(start);
    },
    stopSession() {
      session.stop();
    },
    inSession() {
      return session.inSession;
    },
    getKey() {
      return session.key;
    },
    isRandomKey() {
      return session.session?.random ?? false;
    },
    getCallId() {
      return session.session?.session ?? null;
    },
    addEventListener(name, listener) {
      events.on(name, listener);
    },
    removeEventListener(name, listener) {
      events.off(name, listener);
    },
    getStartParams() {
      return startParams ? { ...startParams } : undefined;
    },
    setStartParams(options) {
      if (options !== undefined && options !== null && typeof options !== "object") {
        throw new VisitorError("invalidparams", "cobrowse: setStartParams takes an options object");
      }
      startParams = options ? { ...options } : undefined;
    },
  };
  return api;
}
