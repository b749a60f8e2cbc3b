/**
 * The visitor API's input rules: session keys and the visitor's name, email and phone.
 *
 * The SDK checks them before anything touches the network, so a site gets a thrown error (naming the rule)
 * at the call that broke it, and no session starts. The server checks the same rules again
 * (src/cobrowse/protocol/rules.py) because a visitor page is untrusted.
 */

import { KEY_PATTERN, KEY_RULE, RANDOM_KEY } from "../shared/protocol";
import type { VisitorInfo } from "../shared/protocol";

/** An error the visitor API throws; `code` is also the `error` event's code (badkey, invalidparams, ...). */
export class VisitorError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "CobrowseError";
    this.code = code;
  }
}

function shown(value: unknown): string {
  const text = String(value);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

/** Throws `badkey` unless `key` is a valid session key (KEY_RULE). */
export function checkKey(key: unknown): string {
  if (typeof key !== "string" || !KEY_PATTERN.test(key)) {
    throw new VisitorError("badkey", `cobrowse: invalid session key ${shown(key)}: ${KEY_RULE}`);
  }
  return key;
}

/**
 * The key a new session asks for: null means "the server picks a random one".
 *
 * Rules (visitor API, startSession): an explicit key is used as given; `GLANCE_KEYTYPE_RANDOM` always asks
 * for a random key; with no key (undefined or null), `GLANCE_COBROWSE.visitorid` is the key if it is defined,
 * else random. An empty key string is refused like any other invalid key; an empty visitorid counts as
 * undefined, because sites commonly render "" for a visitor who is not logged in.
 */
export function resolveKey(sessionKey: unknown, visitorid: unknown): string | null {
  if (sessionKey === RANDOM_KEY) return null;
  if (sessionKey !== undefined && sessionKey !== null) return checkKey(sessionKey);
  if (visitorid !== undefined && visitorid !== null && visitorid !== "") return checkKey(String(visitorid));
  return null;
}

const LATIN1 = /^[\u0000-\u00ff]*$/;

function optionalString(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" && typeof value !== "number") {
    throw new VisitorError("invalidparams", `cobrowse: visitor ${field} must be a string`);
  }
  return String(value);
}

function latin1(field: string, value: string | null, limit: number): void {
  if (value === null) return;
  if (value.length > limit) {
    throw new VisitorError(
      "invalidparams",
      `cobrowse: visitor ${field} is ${value.length} characters; at most ${limit} Latin-1 characters allowed`,
    );
  }
  if (!LATIN1.test(value)) {
    throw new VisitorError("invalidparams", `cobrowse: visitor ${field} must be Latin-1 (ISO/IEC 8859-1) text`);
  }
}

/**
 * Validates and normalises the visitor fields: name up to 63 Unicode characters (code points, not UTF-16
 * units), email up to 127 and phone up to 31 Latin-1 characters; visitorid follows the key rules.
 */
export function checkVisitor(fields: {
  name?: unknown;
  email?: unknown;
  phone?: unknown;
  visitorid?: unknown;
}): VisitorInfo {
  const name = optionalString("name", fields.name);
  const email = optionalString("email", fields.email);
  const phone = optionalString("phone", fields.phone);
  const visitorid = optionalString("visitorid", fields.visitorid);
  if (name !== null) {
    const length = Array.from(name).length;
    if (length > 63) {
      throw new VisitorError("invalidparams", `cobrowse: visitor name is ${length} characters; at most 63 allowed`);
    }
  }
  latin1("email", email, 127);
  latin1("phone", phone, 31);
  if (visitorid !== null && !KEY_PATTERN.test(visitorid)) {
    throw new VisitorError("invalidparams", `cobrowse: visitorid must follow the session key rules: ${KEY_RULE}`);
  }
  return { name, email, phone, visitorid };
}

/** Parses a group id given as a number or a numeric string; throws `invalidparams` otherwise. */
export function checkGroupId(value: unknown, where: string): number {
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim() : "";
  if (!/^[0-9]{1,15}$/.test(text) || Number(text) <= 0) {
    throw new VisitorError("invalidparams", `cobrowse: ${where} must be a positive whole number, not ${shown(value)}`);
  }
  return Number(text);
}
