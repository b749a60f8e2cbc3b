/**
 * The deprecated `Visitor.continueSessionAt({destination, destinationurl, oncomplete})`, kept for sites
 * written against it.
 *
 * Its use (spec): the visitor is about to reach another domain of the site by a redirect (server or script),
 * which no link carries a token through. So the session is handed over before the redirect: a temporary
 * helper window opens a page of the destination domain (`destinationurl`, else that domain's home page; it
 * must carry the cobrowse script) with a token and a helper mark in its fragment. The helper redeems the
 * token, writes the destination's own session cookie, and closes itself (cross-domain-arrival.ts) without
 * joining the session. `oncomplete` is called when the server reports that redemption (`xdomain_done`):
 * from then on any page of the destination domain continues the session, however the visitor gets there.
 *
 * `destination` is a host (`example.com`, or `example.com:8443`); the origin used is the trusted origin of
 * that host (a `*.` pattern covers its subdomains). Like crossDomain(), the helper window must be opened in
 * the visitor's gesture (a click or a key), else popup blockers stop it. Failures fire `error` (there is no
 * promise): `untrusted`, `popupblocked`, `timeout`.
 */

import type { CrossDomain } from "./cross-domain";
import { httpUrl, openBlank, trustedBy, untrusted, withToken } from "./cross-domain";
import { VisitorError } from "./keys";

const METHOD = "continueSessionAt";
const HOST = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/;

export interface ContinuePlan {
  /** The destination host, lower case (with a port if given). */
  destination: string;
  helper: URL | null;
  oncomplete: (() => void) | null;
}

/** Checks continueSessionAt's params; throws VisitorError `invalidparams` naming the problem. */
export function checkContinueParams(params: unknown): ContinuePlan {
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    throw new VisitorError("invalidparams", `cobrowse: ${METHOD}: params must be an object {destination, ...}`);
  }
  const { destination, destinationurl, oncomplete } = params as Record<string, unknown>;
  let host = typeof destination === "string" ? destination.trim().toLowerCase() : "";
  if (host.includes("://")) {
    try {
      host = new URL(host).host;
    } catch {
      host = "";
    }
  }
  if (!HOST.test(host)) {
    throw new VisitorError("invalidparams", `cobrowse: ${METHOD}: destination must be a domain such as "example.com"`);
  }
  if (oncomplete !== undefined && oncomplete !== null && typeof oncomplete !== "function") {
    throw new VisitorError("invalidparams", `cobrowse: ${METHOD}: oncomplete must be a function`);
  }
  let helper: URL | null = null;
  if (destinationurl !== undefined && destinationurl !== null && destinationurl !== "") {
    helper = httpUrl(destinationurl, METHOD, "destinationurl");
    if (!sameHost(helper, host)) {
      throw new VisitorError("invalidparams", `cobrowse: ${METHOD}: destinationurl must be on ${host}`);
    }
  }
  return { destination: host, helper, oncomplete: (oncomplete as (() => void) | null | undefined) ?? null };
}

function sameHost(url: URL, host: string): boolean {
  return host.includes(":") ? url.host === host : url.hostname === host;
}

/** The trusted origin of `host`: an exact entry of the list, or a `*.` pattern covering it. */
export function originFor(list: readonly string[], host: string): string | null {
  const hostname = host.split(":")[0];
  for (const pattern of list) {
    let parsed: URL;
    try {
      parsed = new URL(pattern.replace("://*.", "://wildcard."));
    } catch {
      continue;
    }
    const wildcard = pattern.includes("://*.");
    const suffix = parsed.hostname.slice("wildcard".length);
    const hostOk = wildcard ? hostname.endsWith(suffix) : parsed.hostname === hostname;
    const portOk = !host.includes(":") || parsed.host.split(":")[1] === host.split(":")[1];
    if (!hostOk || !portOk) continue;
    const origin = `${parsed.protocol}//${hostname}${parsed.port ? `:${parsed.port}` : ""}`;
    if (trustedBy(list, origin)) return origin;
  }
  return null;
}

export class ContinueSessionAt {
  /** oncomplete callbacks waiting for their origin's `xdomain_done`. */
  private waiting: { origin: string; oncomplete: (() => void) | null }[] = [];

  constructor(private readonly xd: CrossDomain) {}

  /** continueSessionAt(params), checked by the caller: opens the helper window now, the rest follows. */
  run(plan: ContinuePlan): void {
    const known = this.xd.trusted;
    if (known && !this.helperUrl(known, plan)) {
      this.xd.report(untrusted(METHOD, plan.destination));
      return;
    }
    const popup = openBlank();
    if (!popup) {
      this.xd.report(new VisitorError("popupblocked", `cobrowse: ${METHOD}: the browser blocked the helper window`));
      return;
    }
    void this.handOver(plan, popup).catch((err: unknown) => {
      popup.close();
      this.xd.report(err);
    });
  }

  /** A page of `origin` redeemed a token: the matching oncomplete runs (once). */
  redeemed(origin: string): void {
    const index = this.waiting.findIndex((w) => w.origin === origin);
    if (index < 0) return;
    const [entry] = this.waiting.splice(index, 1);
    try {
      entry.oncomplete?.();
    } catch (err) {
      console.error("cobrowse: continueSessionAt: oncomplete threw", err);
    }
  }

  /** The session ended: nothing waits any more. */
  clear(): void {
    this.waiting = [];
  }

  private async handOver(plan: ContinuePlan, popup: Window): Promise<void> {
    const helper = this.helperUrl(await this.xd.trustListKnown(), plan);
    if (!helper) throw untrusted(METHOD, plan.destination);
    const token = await this.xd.requestToken(helper.href);
    this.waiting.push({ origin: helper.origin, oncomplete: plan.oncomplete });
    this.xd.navigate(withToken(helper, token, true), "_blank", popup);
  }

  private helperUrl(list: readonly string[], plan: ContinuePlan): URL | null {
    if (plan.helper) return trustedBy(list, plan.helper.origin) ? plan.helper : null;
    const origin = originFor(list, plan.destination);
    return origin ? new URL("/", origin) : null;
  }
}
