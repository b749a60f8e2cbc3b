/**
 * `GLANCE.Cobrowse.Visitor`: the public visitor API, a thin face over the session client.
 *
 * Its job is the visitor API's argument rules (spec: startSession): which key, which group, which visitor
 * fields, checked synchronously so that bad input throws at the call (the message names the rule), fires
 * `error` with the same code, and never opens a socket. Methods are closures, not prototype methods, so a
 * site may pass them around (`button.onclick = Visitor.stopSession`) without losing `this`.
 * The rest of the API (messages, state, pause, canvas, terms, and the site-facing addEventListener that holds
 * events for a custom UI) is added on top by visitor-api.ts.
 */

import type { StartMsg } from "../shared/protocol";
import { msg } from "../shared/protocol";
import type { LoaderConfig } from "./config";
import type { Emitter, Listener, VisitorEventMap } from "./events";
import { checkGroupId, checkVisitor, resolveKey, VisitorError } from "./keys";
import type { ReadyState } from "./session";
import { pageInfo, READYSTATE, SessionClient } from "./session";
import { checkStartOptions, videoParams } from "./start-options";
import type { StartOptions, VideoParams } from "./start-options";

/** startSession(options) / setStartParams(options): every option validated (start-options.ts). */
export type { StartOptions } from "./start-options";

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
  /** True while the page is masked for the agents (or its masking rules are still being decided). */
  isPageMasked(): boolean;
  /** Internal: the video parameters the current session was started with, for the video feature. */
  videoParams(): VideoParams;
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
  let sessionVideo: VideoParams = {};

  /** Turns startSession's argument into a validated `start` message; throws VisitorError. */
  function buildStart(arg: string | number | StartOptions | null | undefined): StartMsg {
    let options: StartOptions;
    if (arg === undefined || arg === null) options = startParams ?? {};
    else if (typeof arg === "string" || typeof arg === "number") options = { sessionKey: String(arg) };
    else if (typeof arg === "object") options = checkStartOptions(arg, "startSession");
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
    sessionVideo = videoParams(options);
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
    isPageMasked() {
      return session.masking.isPageMasked();
    },
    setStartParams(options) {
      startParams = options === undefined || options === null ? undefined : checkStartOptions(options, "setStartParams");
    },
    videoParams() {
      return { ...sessionVideo };
    },
  };
  return api;
}
