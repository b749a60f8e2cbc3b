/**
 * Cross-domain continuation on the page that hands the session over: `Visitor.crossDomain(options)`,
 * `isCrossDomainDone()`, the deprecated `continueSessionAt(params)`, and the one-time tokens behind them and
 * behind the automatic links (cross-domain-links.ts). The destination's side is cross-domain-arrival.ts.
 *
 * Why tokens: the session cookie is first-party (cookie.ts), so a page of another domain cannot read it, and
 * third-party cookies are blocked by browsers. Instead the page asks its socket for a token bound to the
 * destination's origin (`xdomain`). The server hands one out only for an origin on the group's trust list (the
 * page learns the list from `started` / `resumed`, `xdomains`, and checks it first so that an untrusted origin
 * is never even asked for), valid once for a minute. The token travels in the destination URL's fragment
 * (`#glance_xd=TOKEN`), which never reaches a web server, a log or a Referer header; an untrusted origin never
 * gets one, and a link to it is left alone.
 *
 * A new window (`_blank`, the helper of continueSessionAt) is opened at once, in the visitor's gesture, as
 * `about:blank` and sent to its URL when the token arrives: opened later, popup blockers would stop it.
 */

import type { ServerToVisitor, XDomainMsg } from "../shared/protocol";
import { msg } from "../shared/protocol";
import type { Emitter, VisitorEventMap } from "./events";
import { VisitorError } from "./keys";
import type { SessionClient } from "./session";

/** Where crossDomain opens its URL. */
export type Target = "_self" | "_blank";
/** The fragment parameter that carries a token, and the one that marks continueSessionAt's helper window. */
export const TOKEN_PARAM = "glance_xd";
export const HELPER_PARAM = "glance_xd_helper";
/**
 * How long a token request may wait for the server's answer (a dead socket must not hang a promise), and how
 * long a clicked link waits for one before it opens without it (the visitor is waiting for their click).
 */
const ANSWER_TIMEOUT_MS = 15_000;
export const LINK_TIMEOUT_MS = 3_000;

/** crossDomain(options), checked: `url` null when there is nothing to open. */
export interface CrossDomainPlan {
  url: URL | null;
  target: Target;
}

interface Pending {
  url: string;
  sent: boolean;
  resolve(token: string): void;
  reject(err: VisitorError): void;
}

/** Whether `origin` is on a trust list (exact origins, or `scheme://*.domain[:port]` patterns), as the server says. */
export function trustedBy(list: readonly string[], origin: string): boolean {
  const [scheme, host] = origin.split("://");
  return list.some((pattern) => {
    if (pattern === origin) return true;
    const [pScheme, pHost] = pattern.split("://");
    return pHost !== undefined && pHost.startsWith("*.") && pScheme === scheme && host.endsWith(pHost.slice(1));
  });
}

/** `url` with the token added to its fragment (an existing fragment is kept: `#top&glance_xd=...`). */
export function withToken(url: URL, token: string, helper = false): string {
  const out = new URL(url.href);
  const kept = out.hash.replace(/^#/, "");
  const added = `${TOKEN_PARAM}=${encodeURIComponent(token)}${helper ? `&${HELPER_PARAM}=1` : ""}`;
  out.hash = kept ? `${kept}&${added}` : added;
  return out.href;
}

/** A new window opened in the visitor's gesture, cut from this page (no `opener`); null if it was blocked. */
export function openBlank(): Window | null {
  const win = window.open("about:blank", "_blank");
  if (win) {
    try {
      win.opener = null;
    } catch {
      // Not ours to change: it is still a new window.
    }
  }
  return win;
}

/** Checks crossDomain's options; throws VisitorError `invalidparams` naming the problem. */
export function checkCrossDomainOptions(options: unknown, method: string): CrossDomainPlan {
  if (options === undefined || options === null) return { url: null, target: "_self" };
  if (typeof options !== "object" || Array.isArray(options)) {
    throw new VisitorError("invalidparams", `cobrowse: ${method}: options must be an object {url, target}`);
  }
  const { url, target } = options as { url?: unknown; target?: unknown };
  if (target !== undefined && target !== null && target !== "_self" && target !== "_blank") {
    throw new VisitorError("invalidparams", `cobrowse: ${method}: target must be "_self" or "_blank"`);
  }
  if (url === undefined || url === null) {
    if (target !== undefined && target !== null) {
      throw new VisitorError("invalidparams", `cobrowse: ${method}: a target needs a url`);
    }
    return { url: null, target: "_self" };
  }
  return { url: httpUrl(url, method, "url"), target: target === "_blank" ? "_blank" : "_self" };
}

/** An absolute or page-relative http(s) URL; throws `invalidparams` for anything else (javascript: ...). */
export function httpUrl(value: unknown, method: string, name: string): URL {
  let parsed: URL | null = null;
  if (typeof value === "string" && value.trim() !== "") {
    try {
      parsed = new URL(value.trim(), document.baseURI);
    } catch {
      parsed = null;
    }
  }
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw new VisitorError("invalidparams", `cobrowse: ${method}: ${name} must be an http or https URL`);
  }
  return parsed;
}

export class CrossDomain {
  /** The group's trusted origins; null until the server confirmed the session on this page. */
  private trustList: string[] | null = null;
  private waiting: { resolve(list: string[]): void; reject(err: VisitorError): void }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private done = false;
  /** Called with the origin when a page there redeemed one of this session's tokens (`xdomain_done`). */
  onRedeemed: (origin: string) => void = () => undefined;

  constructor(
    private readonly session: SessionClient,
    private readonly events: Emitter<VisitorEventMap>,
  ) {
    session.extensions.push({
      onStarted: (m) => {
        this.trustList = Array.isArray(m.xdomains) ? m.xdomains.filter((o) => typeof o === "string") : [];
        for (const w of this.waiting.splice(0)) w.resolve(this.trustList);
        this.flush();
      },
      onMessage: (m) => this.received(m),
      onEnd: () => this.ended(),
    });
  }

  /** isCrossDomainDone(): crossDomain() resolved (or a token was handed over) in this session, on this page. */
  get isDone(): boolean {
    return this.done;
  }

  markDone(): void {
    this.done = true;
  }

  /** The trust list, once known on this page (null before `started` / `resumed`). */
  get trusted(): readonly string[] | null {
    return this.trustList;
  }

  /** Resolves with the trust list as soon as it is known; rejects if the session ends first. */
  trustListKnown(): Promise<readonly string[]> {
    if (this.trustList) return Promise.resolve(this.trustList);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** True when a link to `url` should carry the session: another origin, http(s), on the known trust list. */
  carries(url: URL): boolean {
    return (
      this.session.inSession &&
      (url.protocol === "http:" || url.protocol === "https:") &&
      url.origin !== location.origin &&
      this.trustList !== null &&
      trustedBy(this.trustList, url.origin)
    );
  }

  /** A one-time token for `url`'s origin; rejects with `untrusted` (refused), `notinsession` or `timeout`. */
  requestToken(url: string, timeoutMs = ANSWER_TIMEOUT_MS): Promise<string> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) {
          reject(new VisitorError("timeout", "cobrowse: cross-domain: the server did not answer in time"));
        }
      }, timeoutMs);
      const settle = <T>(fn: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        fn(v);
      };
      this.pending.set(id, { url, sent: false, resolve: settle(resolve), reject: settle(reject) });
      this.flush();
    });
  }

  /**
   * Opens `url` in this window, or in `popup` (opened in the gesture). Without a popup (blocked, or closed by
   * the visitor meanwhile) one more try outside the gesture, which the browser may block in turn.
   */
  navigate(url: string, target: Target, popup: Window | null): void {
    if (target === "_self") location.assign(url);
    else if (popup && !popup.closed) popup.location.href = url;
    else window.open(url, "_blank", "noopener");
  }

  /** crossDomain(plan) after its synchronous checks: waits for the trust list, then the token, then opens. */
  async run(plan: CrossDomainPlan, popup: Window | null): Promise<void> {
    try {
      const list = await this.trustListKnown();
      if (!plan.url) {
        this.done = true;
        return;
      }
      const url = plan.url;
      if (url.origin === location.origin) {
        this.navigate(url.href, plan.target, popup); // the site's own cookie carries the session
      } else {
        if (!trustedBy(list, url.origin)) throw untrusted("crossDomain", url.origin);
        const token = await this.requestToken(url.href);
        this.navigate(withToken(url, token), plan.target, popup);
      }
      this.done = true;
    } catch (err) {
      popup?.close();
      throw err;
    }
  }

  private flush(): void {
    for (const [id, p] of this.pending) {
      if (p.sent) continue;
      p.sent = this.session.sendControl(msg<XDomainMsg>({ t: "xdomain", id, url: p.url }));
    }
  }

  private received(m: ServerToVisitor): void {
    if (m.t === "xdomain_token" || m.t === "xdomain_refused") {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.t === "xdomain_token" && typeof m.token === "string" && m.token) p.resolve(m.token);
      else p.reject(refusal(m.t === "xdomain_refused" ? m.reason : "", m.origin));
    } else if (m.t === "xdomain_done") {
      this.done = true;
      this.onRedeemed(typeof m.origin === "string" ? m.origin : "");
    }
  }

  private ended(): void {
    const gone = new VisitorError("notinsession", "cobrowse: cross-domain: the session ended");
    for (const w of this.waiting.splice(0)) w.reject(gone);
    for (const p of this.pending.values()) p.reject(gone);
    this.pending.clear();
    this.trustList = null;
    this.done = false;
  }

  /** Reports a failure that has no caller to reject (links, continueSessionAt): the `error` event. */
  report(err: unknown): void {
    const code = err instanceof VisitorError ? err.code : "service";
    this.events.emit("error", { code, msg: err instanceof Error ? err.message : String(err) });
  }
}

/**
 * The server's `xdomain_refused`: the origin is not trusted (the list may have changed since this page
 * loaded), or too many tokens wait for this session (`overloaded`).
 */
function refusal(reason: unknown, origin: unknown): VisitorError {
  const text = typeof reason === "string" ? reason : "";
  if (/too many/i.test(text)) return new VisitorError("overloaded", `cobrowse: cross-domain: ${text}`);
  return untrusted("crossDomain", typeof origin === "string" ? origin : "", text);
}

/** The error for an origin the trust list does not hold (or the server refused). */
export function untrusted(method: string, origin: string, reason = ""): VisitorError {
  const why = reason || `${origin || "the destination"} is not on the group's cross-domain trust list`;
  return new VisitorError("untrusted", `cobrowse: ${method}: ${why}`);
}
