/**
 * `Visitor.setCookieValue(key, value)` / `Visitor.getCookieValue(key)`: small values kept in the session cookie
 * (`glance_ssn_info`, on the site's domain), so a custom UI can render its state at once on the next page
 * instead of waiting for the session's events.
 *
 * Values keep their JSON type (booleans, numbers, strings, null, arrays, plain objects): the cookie holds JSON.
 * Like the product, these work once `sessioncontinue` has fired on the page (readyState `sessioncontinue` or
 * `statereceived`); before that, and outside a session, they throw `notready`. The cookie stays under
 * MAX_COOKIE_BYTES (browsers keep about 4 KB per cookie): a value that would not fit throws `toolarge` and
 * nothing is written. The values live and die with the session's cookie.
 */

import { copyJson, jsonProblem, nameProblem } from "../shared/payload";
import type { CookieStore } from "./cookie";
import { COOKIE_NAME } from "./cookie";
import { VisitorError } from "./keys";
import type { SessionClient } from "./session";
import { READYSTATE } from "./session";

export const MAX_COOKIE_BYTES = 3800;

export class CookieValues {
  constructor(
    private readonly session: SessionClient,
    private readonly cookies: CookieStore,
  ) {}

  set(key: unknown, value: unknown): void {
    const info = this.ready("setCookieValue");
    const badKey = nameProblem(key);
    if (badKey) throw new VisitorError("invalidparams", `cobrowse: setCookieValue: ${badKey.replace("name", "key")}`);
    const problem = jsonProblem(value, "value");
    if (problem) throw new VisitorError("invalidparams", `cobrowse: setCookieValue: ${problem}`);
    const values = { ...(info.values ?? {}), [key as string]: copyJson(value) };
    const size = `${COOKIE_NAME}=${encodeURIComponent(JSON.stringify({ ...info, values }))}`.length;
    if (size > MAX_COOKIE_BYTES) {
      throw new VisitorError(
        "toolarge",
        `cobrowse: setCookieValue: the session cookie would be ${size} bytes; at most ${MAX_COOKIE_BYTES} fit`,
      );
    }
    info.values = values;
    this.cookies.write(info);
  }

  /** The stored value (a copy), or undefined when none is stored under `key`. */
  get(key: unknown): unknown {
    const info = this.ready("getCookieValue");
    if (typeof key !== "string") throw new VisitorError("invalidparams", "cobrowse: getCookieValue: the key must be a string");
    const values = info.values ?? {};
    return Object.prototype.hasOwnProperty.call(values, key) ? copyJson(values[key]) : undefined;
  }

  private ready(method: string): NonNullable<SessionClient["session"]> {
    const info = this.session.session;
    const state = this.session.readyState;
    if (!info || (state !== READYSTATE.sessioncontinue && state !== READYSTATE.statereceived)) {
      throw new VisitorError(
        "notready",
        `cobrowse: ${method} can only be called once the "sessioncontinue" event has fired in a session ` +
          `(readyState is "${state}")`,
      );
    }
    return info;
  }
}
