/**
 * The session cookie `glance_ssn_info`: how a session survives navigation within the site.
 *
 * It lives on the site's own domain (host-only by default; `data-cookiedomain` widens it to a parent domain
 * so sibling subdomains continue the session), path `/`, SameSite=Lax, and it is a session cookie (no expiry):
 * closing the browser forgets it. It holds only what the next page needs to resume, never page content.
 * The `token` proves to the server that this browser started the session (an HMAC of the call id).
 */

export const COOKIE_NAME = "glance_ssn_info";

export interface SessionCookie {
  /** The call id (getCallId()). */
  session: number;
  key: string;
  token: string;
  group: number;
  random: boolean;
  /** Values stored by setCookieValue() (a later feature); types are kept through JSON. */
  values?: Record<string, unknown>;
}

function isSessionCookie(value: unknown): value is SessionCookie {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.session === "number" &&
    typeof v.key === "string" &&
    typeof v.token === "string" &&
    typeof v.group === "number" &&
    typeof v.random === "boolean"
  );
}

export class CookieStore {
  constructor(private readonly domain: string | null) {}

  /** The stored session, or null when there is none (or the cookie is not ours / damaged). */
  read(): SessionCookie | null {
    for (const part of document.cookie.split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0 || part.slice(0, eq).trim() !== COOKIE_NAME) continue;
      try {
        const value: unknown = JSON.parse(decodeURIComponent(part.slice(eq + 1).trim()));
        if (isSessionCookie(value)) return value;
      } catch {
        // A damaged cookie is the same as no cookie: the visitor simply is not in a session.
      }
    }
    return null;
  }

  write(value: SessionCookie): void {
    document.cookie = `${COOKIE_NAME}=${encodeURIComponent(JSON.stringify(value))}${this.attributes()}`;
  }

  /** Removes the cookie, both on the configured domain and host-only (a page may have used either). */
  clear(): void {
    const expired = "; expires=Thu, 01 Jan 1970 00:00:00 GMT";
    document.cookie = `${COOKIE_NAME}=${this.attributes()}${expired}`;
    if (this.domain) document.cookie = `${COOKIE_NAME}=; path=/; SameSite=Lax${expired}`;
  }

  private attributes(): string {
    let attrs = "; path=/; SameSite=Lax";
    if (this.domain) attrs += `; domain=${this.domain}`;
    if (location.protocol === "https:") attrs += "; Secure";
    return attrs;
  }
}
