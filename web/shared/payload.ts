/**
 * The rules for named JSON payloads (session messages, user state, cookie values), shared by the visitor SDK
 * and the agent console so both refuse the same things before anything is sent.
 *
 * Why strict rather than "whatever JSON.stringify makes of it": `JSON.stringify` silently drops functions and
 * `undefined` members, turns `NaN` into `null` and a `Date` into a string, and throws an unhelpful TypeError on
 * a cycle. A site that sends `{when: new Date(), cb: fn}` would get something else on the other side with no
 * hint why. Here a payload must be plain JSON data (null, booleans, finite numbers, strings, arrays and plain
 * objects), nested at most MAX_DEPTH levels, and at most MAX_MESSAGE_DATA bytes once encoded as UTF-8 JSON (the
 * size the server checks). Names are 1 to MAX_NAME characters (code points, as the server counts).
 *
 * The checks return a problem description (or null) instead of throwing, so each side wraps it in its own
 * error class with its own code.
 */

import { MAX_MESSAGE_DATA, MAX_NAME } from "./protocol";

/** Deepest nesting accepted (a deeper structure is refused rather than risking the stack). */
export const MAX_DEPTH = 100;

const encoder = new TextEncoder();

/** Bytes of `text` in UTF-8. */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/** Why `name` is not a valid payload name, or null when it is. */
export function nameProblem(name: unknown): string | null {
  if (typeof name !== "string") return `the name must be a string, not ${describe(name)}`;
  const length = Array.from(name).length;
  if (length < 1 || length > MAX_NAME) return `the name must be 1 to ${MAX_NAME} characters, not ${length}`;
  return null;
}

/** A short description of a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (typeof value === "object") {
    const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return ctor && ctor !== "Object" ? `a ${ctor}` : "an object";
  }
  if (typeof value === "undefined") return "undefined";
  return `a ${typeof value}`;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
}

/** Why `value` is not plain JSON data, or null when it is; `path` names where (`msg.items[2].when`). */
export function jsonProblem(value: unknown, path = "value"): string | null {
  const stack = new Set<object>();
  function walk(v: unknown, at: string, depth: number): string | null {
    if (v === null || typeof v === "string" || typeof v === "boolean") return null;
    if (typeof v === "number") return Number.isFinite(v) ? null : `${at} is ${String(v)}, which JSON cannot carry`;
    if (typeof v !== "object") return `${at} is ${describe(v)}, which is not JSON data`;
    if (depth >= MAX_DEPTH) return `${at} is nested deeper than ${MAX_DEPTH} levels`;
    if (stack.has(v)) return `${at} refers back to itself (a cycle), which JSON cannot carry`;
    stack.add(v);
    try {
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const problem = walk(v[i], `${at}[${i}]`, depth + 1);
          if (problem) return problem;
        }
        return null;
      }
      if (!isPlainObject(v)) return `${at} is ${describe(v)}; only plain objects, arrays and primitives are JSON data`;
      for (const key of Object.keys(v)) {
        const problem = walk((v as Record<string, unknown>)[key], `${at}.${key}`, depth + 1);
        if (problem) return problem;
      }
      return null;
    } finally {
      stack.delete(v);
    }
  }
  return walk(value, path, 0);
}

/**
 * Checks a payload and returns its JSON text, or a problem description. `limit` is the byte limit
 * (MAX_MESSAGE_DATA unless given).
 */
export function encodePayload(
  value: unknown,
  path = "value",
  limit: number = MAX_MESSAGE_DATA,
): { json: string } | { problem: string } {
  const problem = jsonProblem(value, path);
  if (problem) return { problem };
  const json = JSON.stringify(value);
  const bytes = utf8Length(json);
  if (bytes > limit) return { problem: `${path} is ${bytes} bytes as JSON; at most ${limit} bytes are allowed` };
  return { json };
}

/** A deep copy of plain JSON data (so callers cannot change what was stored or delivered). */
export function copyJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
