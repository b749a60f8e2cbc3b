/**
 * Automatic cross-domain links: while the page is in session, a click on a link to another origin on the
 * group's trust list carries the session there (spec: "Cross Domain Cobrowse works automatically once domains
 * are listed"), with no code on the site.
 *
 * The click is taken over only when the browser would follow the link itself: the site did not cancel it
 * (the listener is on the window, in the bubbling phase, so the site's own handlers have run), it is the
 * primary or middle button, the link has no `download` and targets this window or a new one. The link then
 * opens the same way the browser would have opened it, with a one-time token in its fragment: in this window,
 * or in a new tab (middle click, Ctrl / Cmd / Shift, or `target="_blank"`), which is opened at once within the
 * click so popup blockers let it through. If no token can be had (the session is not live, the server refused)
 * within LINK_TIMEOUT_MS, the link opens without one: the visitor still gets where they clicked, only without
 * the session. Links to origins not on the list are never touched.
 */

import type { CrossDomain, Target } from "./cross-domain";
import { LINK_TIMEOUT_MS, openBlank, withToken } from "./cross-domain";

/** The link a click activates (shadow DOM included), if it is an `<a>` / `<area>` with an href. */
function linkOf(event: MouseEvent): HTMLAnchorElement | HTMLAreaElement | null {
  for (const node of event.composedPath()) {
    if ((node instanceof HTMLAnchorElement || node instanceof HTMLAreaElement) && node.hasAttribute("href")) {
      return node;
    }
  }
  return null;
}

/** Where the browser would open the link for this click, or null when it is not ours to handle. */
function targetOf(link: HTMLAnchorElement | HTMLAreaElement, event: MouseEvent): Target | null {
  const named = link.target.trim().toLowerCase();
  if (event.button === 1 || event.ctrlKey || event.metaKey || event.shiftKey || named === "_blank") return "_blank";
  if (named === "" || named === "_self") return "_self";
  if ((named === "_top" || named === "_parent") && window.top === window) return "_self";
  return null; // a named window or frame: left to the browser
}

export class CrossDomainLinks {
  constructor(private readonly xd: CrossDomain) {
    addEventListener("click", (event) => this.onClick(event));
    addEventListener("auxclick", (event) => this.onClick(event)); // the middle button
  }

  private onClick(event: MouseEvent): void {
    if (event.defaultPrevented || (event.button !== 0 && event.button !== 1) || event.altKey) return;
    if (event.type === "auxclick" && event.button !== 1) return;
    const link = linkOf(event);
    if (!link || link.hasAttribute("download")) return;
    let url: URL;
    try {
      url = new URL(link.href);
    } catch {
      return;
    }
    if (!this.xd.carries(url)) return;
    const target = targetOf(link, event);
    if (!target) return;
    event.preventDefault();
    const popup = target === "_blank" ? openBlank() : null;
    this.xd.requestToken(url.href, LINK_TIMEOUT_MS).then(
      (token) => {
        this.xd.markDone();
        this.xd.navigate(withToken(url, token), target, popup);
      },
      (err: unknown) => {
        this.xd.report(err);
        this.xd.navigate(url.href, target, popup);
      },
    );
  }
}
