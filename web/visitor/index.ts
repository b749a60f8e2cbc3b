/**
 * Entry point of visitor.js: reads the configuration, builds the session client and the default UI, and
 * defines `GLANCE.Cobrowse.Visitor`, `GLANCE.Cobrowse.Loader` and `GLANCE.Cobrowse.VisitorUI`.
 *
 * A page that is in session (the `glance_ssn_info` cookie) resumes it as soon as the UI can hear the events:
 * at once with the default UI; with `data-ui="none"` when the site's custom UI calls
 * `GLANCE.Cobrowse.Loader.setUIReady()` after adding its listeners, or at the window's `load` at the latest
 * (so a site that never calls it still continues its sessions).
 */

import { createVisitorApi } from "./api";
import type { VisitorApi } from "./api";
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
}

interface CobrowseNamespace {
  Visitor?: VisitorApi;
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
  const config = loadConfig(currentScript);
  const events = new Emitter<VisitorEventMap>();
  const session = new SessionClient(config, new CookieStore(config.cookieDomain), events, UI_HOST_TAG);
  const visitor = createVisitorApi(config, session, events);

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

  let markUiReady: () => void = () => undefined;
  const uiReady = new Promise<void>((resolve) => {
    markUiReady = resolve;
  });
  if (ui || document.readyState === "complete") markUiReady();
  else addEventListener("load", () => markUiReady(), { once: true });
  void uiReady.then(() => session.resume());

  cobrowse.Loader = { setUIReady: () => markUiReady() };
  cobrowse.VisitorUI = {
    ready: () => (ui ? ui.ready() : Promise.resolve()),
    showButton: (show: boolean) => ui?.showButton(show),
    toggleButton: () => ui?.toggleButton(),
  };
  cobrowse.Visitor = visitor;
}

init();
