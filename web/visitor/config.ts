/**
 * Reads the SDK's configuration from the page: the cobrowse `<script>` tag and `window.GLANCE_COBROWSE`.
 *
 * The product's convention (kept for sites written against it): every `data-*` attribute of the script tag
 * is merged, without its prefix, into `window.GLANCE_COBROWSE`, attributes winning, so any setting may be
 * given either way. `data-groupid` is required and numeric; a page without it gets a clear error at load
 * rather than a session that fails later. The server's address comes from the script's own `src` (the site
 * only has to include one tag), unless `data-ws` names another host.
 */

import { checkGroupId, VisitorError } from "./keys";

/** The live `window.GLANCE_COBROWSE` object: site settings, read again each time a session starts. */
export type Settings = Record<string, unknown>;

export interface LoaderConfig {
  groupid: number;
  /** http(s) base URL of the cobrowse server, without a trailing slash. */
  serverUrl: string;
  /** ws(s) URL of the visitor endpoint. */
  socketUrl: string;
  /** `data-cookiedomain`: widens the session cookie to this domain; null keeps it on the page's host. */
  cookieDomain: string | null;
  /** `data-ui="none"` turns the default UI off. */
  defaultUi: boolean;
  /**
   * `data-ui`: "default"; "custom" (no default UI; the site's events are held until `Loader.setUIReady()`);
   * "none" (the same, and released at the window's `load` at the latest, for sites older than setUIReady).
   */
  uiMode: "default" | "custom" | "none";
  script: HTMLScriptElement | null;
  settings: Settings;
}

declare global {
  interface Window {
    GLANCE_COBROWSE?: Settings;
  }
}

const SCRIPT_IDS = ["glance-cobrowse", "cobrowsescript"];

/**
 * The cobrowse script tag: by id (`glance-cobrowse`, then `cobrowsescript`), else the script being run,
 * else the last script whose src ends in visitor.js.
 */
export function findScriptTag(current: HTMLOrSVGScriptElement | null): HTMLScriptElement | null {
  for (const id of SCRIPT_IDS) {
    const el = document.getElementById(id);
    if (el instanceof HTMLScriptElement) return el;
  }
  if (current instanceof HTMLScriptElement) return current;
  const scripts = Array.from(document.querySelectorAll<HTMLScriptElement>("script[src]"));
  for (let i = scripts.length - 1; i >= 0; i--) {
    const src = scripts[i].src.split(/[?#]/)[0];
    if (src.endsWith("visitor.js")) return scripts[i];
  }
  return null;
}

/** Merges the tag's `data-*` attributes into `window.GLANCE_COBROWSE` (attributes win) and returns it. */
export function mergeSettings(script: HTMLScriptElement | null): Settings {
  const settings: Settings = window.GLANCE_COBROWSE ?? {};
  window.GLANCE_COBROWSE = settings;
  if (script) {
    for (const attr of Array.from(script.attributes)) {
      if (attr.name.startsWith("data-") && attr.name.length > 5) settings[attr.name.slice(5)] = attr.value;
    }
  }
  return settings;
}

/**
 * The server's base URL: `data-ws` if given (a host, host:port or full URL), else the script's src with
 * its `/static/visitor.js` tail removed (so a server mounted under a path prefix works too).
 */
export function serverBase(script: HTMLScriptElement | null, ws: unknown): string {
  const scriptUrl = script?.src ? new URL(script.src, document.baseURI) : null;
  if (typeof ws === "string" && ws.trim() !== "") {
    const value = ws.trim();
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value)
      ? value
      : `${scriptUrl?.protocol ?? location.protocol}//${value}`;
    const url = new URL(withScheme);
    const scheme = url.protocol === "wss:" ? "https:" : url.protocol === "ws:" ? "http:" : url.protocol;
    return `${scheme}//${url.host}${url.pathname}`.replace(/\/+$/, "");
  }
  if (!scriptUrl) {
    throw new VisitorError(
      "invalidparams",
      "cobrowse: cannot find the cobrowse script tag (id=\"glance-cobrowse\") to learn the server's address; " +
        "give the tag that id or set data-ws",
    );
  }
  const path = scriptUrl.pathname.replace(/\/[^/]*$/, "").replace(/\/static$/, "");
  return `${scriptUrl.protocol}//${scriptUrl.host}${path}`;
}

export function socketUrlOf(base: string): string {
  return `${base.replace(/^http/, "ws")}/ws/visitor`;
}

function uiMode(value: unknown): LoaderConfig["uiMode"] {
  const mode = String(value ?? "").trim().toLowerCase();
  return mode === "custom" || mode === "none" ? mode : "default";
}

/** Reads the whole configuration; throws a clear Error when `data-groupid` is missing or not numeric. */
export function loadConfig(current: HTMLOrSVGScriptElement | null): LoaderConfig {
  const script = findScriptTag(current);
  const settings = mergeSettings(script);
  const rawGroup = settings.groupid;
  if (rawGroup === undefined || rawGroup === null || rawGroup === "") {
    throw new VisitorError(
      "invalidparams",
      "cobrowse: data-groupid is required on the cobrowse script tag " +
        '(<script id="glance-cobrowse" src=".../visitor.js" data-groupid="1">)',
    );
  }
  const groupid = checkGroupId(rawGroup, "data-groupid");
  const serverUrl = serverBase(script, settings.ws);
  const cookieDomain =
    typeof settings.cookiedomain === "string" && settings.cookiedomain.trim() !== ""
      ? settings.cookiedomain.trim()
      : null;
  return {
    groupid,
    serverUrl,
    socketUrl: socketUrlOf(serverUrl),
    cookieDomain,
    defaultUi: uiMode(settings.ui) === "default",
    uiMode: uiMode(settings.ui),
    script,
    settings,
  };
}
