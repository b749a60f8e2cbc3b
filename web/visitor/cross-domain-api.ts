/**
 * Cross-domain continuation in the visitor API: wires cross-domain.ts (tokens, crossDomain),
 * cross-domain-links.ts (automatic links), cross-domain-legacy.ts (continueSessionAt),
 * cross-domain-ui.ts (the prompt) and cross-domain-arrival.ts (the destination page) to the session client,
 * and applies the visitor API's rules: options are checked first and throw `invalidparams`, outside a session
 * the methods throw `notinsession`, both at the call. What can only fail later (an untrusted origin, the
 * server refusing, the session ending) rejects crossDomain's promise, or fires `error` where there is no
 * promise (links, continueSessionAt, the destination page).
 */

import type { LoaderConfig } from "./config";
import type { CookieStore } from "./cookie";
import { checkCrossDomainOptions, CrossDomain, openBlank, trustedBy, untrusted } from "./cross-domain";
import type { CrossDomainPlan } from "./cross-domain";
import type { Arrival } from "./cross-domain-arrival";
import { redeem } from "./cross-domain-arrival";
import { checkContinueParams, ContinueSessionAt } from "./cross-domain-legacy";
import { CrossDomainLinks } from "./cross-domain-links";
import { CrossDomainPrompt } from "./cross-domain-ui";
import type { Emitter, VisitorEventMap } from "./events";
import type { SessionClient } from "./session";

/** What this adds to `GLANCE.Cobrowse.Visitor`. */
export interface CrossDomainMethods {
  /** Resolves once the session can continue on the trusted domains; with `{url, target}` then opens url. */
  crossDomain(options?: { url?: string; target?: "_self" | "_blank" } | null): Promise<void>;
  isCrossDomainDone(): boolean;
  /** @deprecated crossDomain(). */
  continueSessionAt(params: { destination: string; destinationurl?: string; oncomplete?: () => void }): void;
}

export interface CrossDomainApi {
  methods: CrossDomainMethods;
  /** VisitorUI.promptCrossDomain: true once the session went on after Yes, false after No. */
  promptCrossDomain(options?: { url?: string; target?: "_self" | "_blank" } | null): Promise<boolean>;
  /** At page load: a page opened with a token joins that session; any other resumes its own (if any). */
  arrive(arrival: Arrival | null): void;
}

export interface CrossDomainDeps {
  config: LoaderConfig;
  session: SessionClient;
  events: Emitter<VisitorEventMap>;
  cookies: CookieStore;
  /** Throws `notinsession` outside a session (visitor-api.ts). */
  requireSession(method: string): void;
}

export function installCrossDomain(deps: CrossDomainDeps): CrossDomainApi {
  const { config, session, events, cookies, requireSession } = deps;
  const xd = new CrossDomain(session, events);
  new CrossDomainLinks(xd);
  const legacy = new ContinueSessionAt(xd);
  xd.onRedeemed = (origin) => legacy.redeemed(origin);
  const prompt = new CrossDomainPrompt();
  session.extensions.push({
    onEnd() {
      prompt.close(false);
      legacy.clear();
    },
  });

  /** crossDomain after its synchronous checks; a new window is opened now, within the caller's gesture. */
  function begin(plan: CrossDomainPlan, method: string): Promise<void> {
    const list = xd.trusted;
    const url = plan.url;
    if (url && list && url.origin !== location.origin && !trustedBy(list, url.origin)) {
      return Promise.reject(untrusted(method, url.origin));
    }
    const popup = url && plan.target === "_blank" ? openBlank() : null;
    return xd.run(plan, popup);
  }

  const methods: CrossDomainMethods = {
    crossDomain(options) {
      const plan = checkCrossDomainOptions(options, "crossDomain");
      requireSession("crossDomain");
      return begin(plan, "crossDomain");
    },
    isCrossDomainDone() {
      return xd.isDone;
    },
    continueSessionAt(params) {
      const plan = checkContinueParams(params);
      requireSession("continueSessionAt");
      legacy.run(plan);
    },
  };

  function promptCrossDomain(options?: unknown): Promise<boolean> {
    const plan = checkCrossDomainOptions(options, "promptCrossDomain");
    requireSession("promptCrossDomain");
    const list = xd.trusted;
    if (plan.url && list && plan.url.origin !== location.origin && !trustedBy(list, plan.url.origin)) {
      return Promise.reject(untrusted("promptCrossDomain", plan.url.origin));
    }
    return new Promise((resolve, reject) => {
      prompt.ask(plan.url?.host ?? null, (yes) => {
        if (!yes) resolve(false);
        else begin(plan, "promptCrossDomain").then(() => resolve(true), reject);
      });
    });
  }

  function arrive(arrival: Arrival | null): void {
    if (!arrival) {
      session.resume();
      return;
    }
    redeem(config.socketUrl, arrival.token, config.groupid).then(
      (cookie) => {
        if (arrival.helper) {
          cookies.write(cookie);
          window.close(); // a helper window of continueSessionAt, opened by script: it may close itself
          if (window.closed) return;
        }
        session.adopt(cookie);
      },
      (err: unknown) => {
        xd.report(err);
        session.resume();
      },
    );
  }

  return { methods, promptCrossDomain, arrive };
}
