/**
 * The rest of `GLANCE.Cobrowse.Visitor` on top of api.ts: session messages, user state, cookie values,
 * session state, pause, canvas, terms, remote control, cross-domain (cross-domain-api.ts), custom-UI event
 * holding and the small ones (isMobile).
 *
 * Each feature is its own module; this one wires them to the session client (its extension hooks), to the
 * internal event emitter, and to the public methods, and applies the visitor API's rule for methods marked *
 * in the spec (`addSessionMessageListener`, `sendSessionMessage`, `setUserState`, `getSessionState`, `enableRC`): outside
 * an active session they throw `notinsession`. Every method checks all of its arguments before changing
 * anything, so a call that throws leaves the session as it was.
 */

import type { SessionMessageMsg } from "../shared/protocol";
import type { VisitorApi } from "./api";
import { CanvasTracker, checkNotifyArg } from "./canvas";
import type { LoaderConfig } from "./config";
import type { CookieStore } from "./cookie";
import { CookieValues } from "./cookie-values";
import { installCrossDomain } from "./cross-domain-api";
import type { CrossDomainApi, CrossDomainMethods } from "./cross-domain-api";
import { NO_CONTENT_SELECTOR, MASKED_SELECTOR } from "./capture";
import type { Emitter, Listener, VisitorEventMap } from "./events";
import { VisitorError } from "./keys";
import { SessionMessages } from "./messages";
import { PauseControl, startPausedSetting } from "./pause";
import { RemoteControl } from "./remote-control";
import type { SessionClient } from "./session";
import { SessionStateStore } from "./session-state";
import { SiteEvents } from "./site-events";
import { checkStartOptions } from "./start-options";
import type { StartOptions } from "./start-options";
import { safeTermsUrl, TermsDialog } from "./terms";
import { UserState } from "./user-state";

/** The methods this module adds to `GLANCE.Cobrowse.Visitor` (and the two it replaces). */
export interface VisitorApiMore extends CrossDomainMethods {
  addEventListener(name: string, listener: Listener<never>): void;
  removeEventListener(name: string, listener: Listener<never>): void;
  addSessionMessageListener(msgName: string, handler: (msgName: string, msg: unknown) => void): void;
  removeSessionMessageListener(msgName: string, handler: (msgName: string, msg: unknown) => void): void;
  sendSessionMessage(msgName: string, msg: unknown): void;
  setUserState(name: string, data: unknown): void;
  getUserState(name: string): unknown;
  setCookieValue(key: string, value: unknown): void;
  getCookieValue(key: string): unknown;
  getSessionState(eventName: string, identifier?: string): unknown;
  pauseSession(params: { pause: boolean; message?: string | null }): void;
  isSessionPaused(): boolean;
  notifyChanged(params: { canvas?: { gcids: string[] } }): void;
  enableRC(enable: boolean): void;
  showTerms(options?: StartOptions): void;
  isMobile(): boolean;
}

export interface VisitorApiDeps {
  config: LoaderConfig;
  session: SessionClient;
  /** The internal emitter (the SDK's own listeners). */
  events: Emitter<VisitorEventMap>;
  visitor: VisitorApi;
  cookies: CookieStore;
  /** Extra "must not be seen" check for canvases (the masking feature's rules), if any. */
  isMasked?: (el: Element) => boolean;
}

export interface VisitorApiParts {
  methods: VisitorApiMore;
  site: SiteEvents;
  /** VisitorUI.showTerms */
  showTerms(options?: StartOptions): void;
  /** VisitorUI.promptCrossDomain, and the page-load step that continues a session here (index.ts). */
  crossDomain: CrossDomainApi;
}

/** True on phones and tablets: User-Agent Client Hints where the browser has them, else the user agent. */
export function isMobile(): boolean {
  const nav = navigator as Navigator & { userAgentData?: { mobile?: unknown } };
  if (nav.userAgentData?.mobile === true) return true;
  if (/Android|iPhone|iPad|iPod|Mobile|IEMobile|Opera Mini|BlackBerry/i.test(nav.userAgent)) return true;
  // iPadOS reports a desktop Safari user agent.
  return nav.platform === "MacIntel" && nav.maxTouchPoints > 1;
}

export function installVisitorApi(deps: VisitorApiDeps): VisitorApiParts {
  const { config, session, events, visitor, cookies } = deps;
  const site = new SiteEvents();
  events.tap((name, payload) => site.relay(name, payload));
  if (config.uiMode !== "default") site.hold();

  const state = new SessionStateStore(events);
  const messages = new SessionMessages(session, site);
  const userState = new UserState(session);
  const cookieValues = new CookieValues(session, cookies);
  const pause = new PauseControl(session, startPausedSetting(config.settings.startpaused));
  const hidden = `${NO_CONTENT_SELECTOR}, ${MASKED_SELECTOR}`;
  const canvas = new CanvasTracker({
    recording: () => session.live && session.recording,
    isHidden: (el) => el.closest(hidden) !== null || (deps.isMasked?.(el) ?? false),
  });
  canvas.start();
  // The default UI asks the visitor when an agent requests control; a custom UI answers `rcrequested` itself.
  const rc = new RemoteControl({ session, events, paused: () => pause.isPaused, prompt: config.uiMode === "default" });

  session.extensions.push({
    onStarted(m) {
      userState.load(m.userstate);
      pause.onStarted();
      messages.flush();
    },
    onMessage(m) {
      if (m.t === "message") messages.receive(m as SessionMessageMsg);
    },
    onSnapshot() {
      canvas.resend();
    },
    onShown() {
      pause.onStarted(); // the server clears a pause when another tab is shown: a paused tab says it again
    },
    onEnd() {
      messages.clear();
      userState.clear();
      canvas.clear();
      state.clear();
    },
  });

  function requireSession(method: string): void {
    if (!session.inSession && !session.starting) {
      throw new VisitorError(
        "notinsession",
        `cobrowse: ${method} can only be called while a session is active (GLANCE.Cobrowse.Visitor.inSession())`,
      );
    }
  }

  const crossDomain = installCrossDomain({ config, session, events, cookies, requireSession });

  const terms = new TermsDialog({
    termsUrl: () => safeTermsUrl(config.settings.termsurl),
    accept: () => {
      try {
        visitor.startSession(termsOptions);
      } catch (err) {
        console.error(err); // the error event has fired
      }
    },
  });
  let termsOptions: StartOptions | undefined;
  function showTerms(options?: StartOptions): void {
    termsOptions = options === undefined || options === null ? undefined : checkStartOptions(options, "showTerms");
    terms.show();
  }

  // glance_button="startSession" / "showTerms" / "stopSession" anywhere in the page (ways 3 and 4 to start).
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("[glance_button]") : null;
    const action = target?.getAttribute("glance_button")?.trim().toLowerCase();
    if (!action) return;
    try {
      if (action === "startsession" && !session.inSession && !session.starting) visitor.startSession();
      else if (action === "showterms" && !session.inSession && !session.starting) showTerms();
      else if (action === "stopsession") visitor.stopSession();
    } catch (err) {
      console.error(err); // the error event has fired
    }
  });

  const methods: VisitorApiMore = {
    addEventListener(name, listener) {
      if (typeof name !== "string" || name === "") {
        throw new VisitorError("invalidparams", "cobrowse: addEventListener: the event name must be a string");
      }
      site.emitter.on(name, listener);
    },
    removeEventListener(name, listener) {
      site.emitter.off(name, listener);
    },
    addSessionMessageListener(msgName, handler) {
      requireSession("addSessionMessageListener");
      messages.addListener(msgName, handler);
    },
    removeSessionMessageListener(msgName, handler) {
      messages.removeListener(msgName, handler);
    },
    sendSessionMessage(msgName, msg) {
      requireSession("sendSessionMessage");
      messages.send(msgName, msg);
    },
    setUserState(name, data) {
      requireSession("setUserState");
      userState.set(name, data);
    },
    getUserState(name) {
      return userState.get(name);
    },
    setCookieValue(key, value) {
      cookieValues.set(key, value);
    },
    getCookieValue(key) {
      return cookieValues.get(key);
    },
    getSessionState(eventName, identifier) {
      requireSession("getSessionState");
      if (typeof eventName !== "string" || eventName === "") {
        throw new VisitorError("invalidparams", "cobrowse: getSessionState: the event name must be a string");
      }
      if (identifier !== undefined && identifier !== null && typeof identifier !== "string") {
        throw new VisitorError("invalidparams", "cobrowse: getSessionState: the identifier must be a string");
      }
      // Remote control's state is known on every page of the session, not only after an `rc` event on it.
      if (eventName === "rc") return rc.state();
      return state.get(eventName, identifier ?? undefined);
    },
    pauseSession(params) {
      pause.set(params);
    },
    isSessionPaused() {
      return pause.isPaused;
    },
    notifyChanged(params) {
      canvas.notify(checkNotifyArg(params));
    },
    showTerms(options) {
      showTerms(options);
    },
    enableRC(enable) {
      requireSession("enableRC");
      rc.enableRC(enable);
    },
    isMobile,
    ...crossDomain.methods,
  };
  return { methods, site, showTerms, crossDomain };
}
