/**
 * The destination's side of cross-domain continuation: a page opened with `#glance_xd=TOKEN` (cross-domain.ts)
 * joins the session the token carries.
 *
 * At load, before anything reads the address (the `resume` message, rrweb's snapshot, the site's analytics
 * later on), the token is taken out of the fragment with `history.replaceState`, keeping the rest of the
 * fragment: the token is then in no history entry, bookmark or shared link. The page then opens a socket of
 * its own and presents the token (`xredeem`) as its first message; the server checks it (single use, a minute,
 * bound to this origin) and answers `xredeemed` with what this domain's own session cookie needs. The page
 * writes that cookie and resumes the session like any page of it (`sessioncontinue`, same call id). That
 * replaces whatever session cookie this domain had: the visitor came here from the session.
 *
 * A token that does not check (used, expired, another origin's): `error` with the server's code (`badtoken`)
 * and nothing else; the page works on normally (resuming its own session, if it has one). The helper window of
 * continueSessionAt (`glance_xd_helper=1`) only writes the cookie and closes itself: it is no page of the
 * session for the agents.
 */

import type { ServerToVisitor, XRedeemedMsg, XRedeemMsg } from "../shared/protocol";
import { msg } from "../shared/protocol";
import type { SessionCookie } from "./cookie";
import { HELPER_PARAM, TOKEN_PARAM } from "./cross-domain";
import { VisitorError } from "./keys";
import { Transport } from "./transport";

export interface Arrival {
  token: string;
  /** Opened by continueSessionAt as a helper window: hand over, then close. */
  helper: boolean;
}

/**
 * The token in this page's fragment, if any, removed from the address bar (and from `location.href`) at once.
 * Parts of the fragment that are not ours stay, and the page scrolls to them as the browser would have.
 */
export function takeArrival(): Arrival | null {
  const fragment = location.hash.replace(/^#/, "");
  if (!fragment.includes(`${TOKEN_PARAM}=`)) return null;
  let token = "";
  let helper = false;
  const kept: string[] = [];
  for (const part of fragment.split("&")) {
    const [name, value = ""] = part.split("=");
    if (name === TOKEN_PARAM) token = safeDecode(value);
    else if (name === HELPER_PARAM) helper = value === "1";
    else kept.push(part);
  }
  const rest = kept.join("&");
  const url = `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`;
  try {
    history.replaceState(history.state, "", url);
  } catch {
    // A sandboxed document: the token stays in the address, but it is spent at once all the same.
  }
  if (rest) scrollToFragment(rest);
  return token ? { token, helper } : null;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return "";
  }
}

function scrollToFragment(fragment: string): void {
  const go = () => {
    const id = safeDecode(fragment);
    (document.getElementById(id) ?? document.getElementsByName(id)[0])?.scrollIntoView();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go, { once: true });
  else go();
}

/** Presents `token` on a socket of its own; resolves with the session cookie it carries, or rejects. */
export function redeem(socketUrl: string, token: string, group: number): Promise<SessionCookie> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (action: () => void) => {
      if (settled) return;
      settled = true;
      transport.close();
      action();
    };
    const transport = new Transport(socketUrl, {
      onOpen: () => transport.send(msg<XRedeemMsg>({ t: "xredeem", token })),
      onMessage: (m: ServerToVisitor) => {
        if (m.t === "xredeemed") settle(() => resolve(cookieOf(m, group)));
        else if (m.t === "error") settle(() => reject(new VisitorError(m.code, `cobrowse: cross-domain: ${m.msg}`)));
      },
      onClose: (code, reason, opened) => {
        const why = opened ? `the server closed the connection (${code} ${reason})` : "cannot reach the server";
        settle(() => reject(new VisitorError(opened ? "badtoken" : "service", `cobrowse: cross-domain: ${why}`)));
      },
    });
    transport.connect();
  });
}

function cookieOf(m: XRedeemedMsg, fallbackGroup: number): SessionCookie {
  return {
    session: m.session,
    key: m.key,
    token: m.token,
    group: typeof m.group === "number" ? m.group : fallbackGroup,
    random: m.random === true,
  };
}
