/**
 * Entry point of visitor.js: reads the configuration, builds the session client and the default UI, and
 * defines `GLANCE.Cobrowse.Visitor`, `GLANCE.Cobrowse.Loader` and `GLANCE.Cobrowse.VisitorUI`.
 *
 * A page that is in session (the `glance_ssn_info` cookie) resumes it at once; a page opened with a
 * cross-domain token (`#glance_xd=`) first redeems it and resumes that session (cross-domain-arrival.ts).
 * With a custom UI (`data-ui="custom"`, or `"none"`) the default UI stays hidden and the site's listeners hear
 * nothing until `GLANCE.Cobrowse.Loader.setUIReady()`, then every held event in order (site-events.ts); with
 * `"none"` the events are also released at the window's `load` at the latest (so a site that never calls it
 * still hears them).
 */

import { createVisitorApi } from "./api";
import type { VisitorApi } from "./api";
import { takeArrival } from "./cross-domain-arrival";
import type { StartOptions } from "./start-options";
import { installVisitorApi } from "./visitor-api";
import type { VisitorApiMore } from "./visitor-api";
import { loadConfig } from "./config";
import { CookieStore } from "./cookie";
import { Emitter } from "./events";
import type { VisitorEventMap } from "./events";
import { SessionClient } from "./session";
import { DefaultUI, UI_HOST_TAG } from "./ui";
import type { UiState } from "./ui";

interface LoaderApi {
  setUIReady(): void;
}

interface VisitorUiApi {
  ready(): Promise<void>;
  showButton(show: boolean): void;
  toggleButton(): void;
  showTerms(options?: StartOptions): void;
  promptCrossDomain(options?: { url?: string; target?: "_self" | "_blank" } | null): Promise<boolean>;
}

interface CobrowseNamespace {
  Visitor?: VisitorApi & VisitorApiMore;
  Loader?: LoaderApi;
  VisitorUI?: VisitorUiApi;
}

declare global {
  interface Window {
    GLANCE?: { Cobrowse?: CobrowseNamespace; [name: string]: unknown };
  }
}

// Only valid while this script runs for the first time, so read it before anything else.
const currentScript = document.currentScript;

function logged(action: () => void): void {
  try {
    action();
  } catch (err) {
    // The error event has fired already; the default UI has nothing to throw to.
    console.error(err);
  }
}

function init(): void {
  const glance = (window.GLANCE = window.GLANCE ?? {});
  const cobrowse = (glance.Cobrowse = glance.Cobrowse ?? {});
  if (cobrowse.Visitor?.loaded) {
    console.warn("cobrowse: visitor.js is included twice; the second copy does nothing");
    return;
  }
  // Before anything reads the address: a cross-domain token must not reach `resume`, rrweb or the history.
  const arrival = takeArrival();
  const config = loadConfig(currentScript);
  const events = new Emitter<VisitorEventMap>();
  const cookies = new CookieStore(config.cookieDomain);
  const session = new SessionClient(config, cookies, events, UI_HOST_TAG);
  const visitor = createVisitorApi(config, session, events);
  const more = installVisitorApi({
    config, session, events, visitor, cookies, isMasked: (el) => session.masking.hides(el),
  });

  let ui: DefaultUI | null = null;
  if (config.defaultUi) {
    const state = (): UiState =>
      session.starting ? "session_starting" : session.inSession ? "in_session" : "not_in_session";
    const defaultUi = new DefaultUI({
      state,
      key: () => session.key,
      start: () => logged(() => visitor.startSession()),
      stop: () => logged(() => visitor.stopSession()),
    });
    for (const name of ["sessionstarting", "sessionstart", "sessioncontinue", "sessionend"] as const) {
      events.on(name, () => defaultUi.render());
    }
    defaultUi.mount();
    ui = defaultUi;
  }

  if (config.uiMode === "none") {
    if (document.readyState === "complete") more.site.release();
    else addEventListener("load", () => more.site.release(), { once: true });
  }

  cobrowse.Loader = { setUIReady: () => more.site.release() };
  cobrowse.VisitorUI = {
    ready: () => (ui ? ui.ready() : Promise.resolve()),
    showButton: (show: boolean) => ui?.showButton(show),
    toggleButton: () => ui?.toggleButton(),
    showTerms: (options?: StartOptions) => more.showTerms(options),
    promptCrossDomain: (options) => more.crossDomain.promptCrossDomain(options),
  };
  cobrowse.Visitor = Object.assign(visitor, more.methods);
  // After the API exists: a resume's events may reach listeners added by the site's next script.
  queueMicrotask(() => more.crossDomain.arrive(arrival));
}

init();
