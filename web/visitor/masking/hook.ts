/**
 * The site's masking hook, `window.GLANCE_COBROWSE.getMaskingDescriptor(params)` (spec: "Using
 * getMaskingDescriptor()"), and what its answer means.
 *
 * - The hook is read once, when visitor.js loads: the spec says hooks must be defined before the script tag,
 *   and a function swapped in later by other code is not trusted to decide what agents see.
 * - It is called with `{agents}`: undefined when a session starts, else the `agents` event's `{count,
 *   agentlist}` (a copy, so the site cannot change ours).
 * - Every way it can fail masks the whole page: it throws, its promise rejects, it resolves to something that
 *   is not a descriptor (not an object, `maskpage` not a boolean, `maskedelements` not an array of strings),
 *   a selector is not valid CSS, or it does not settle within HOOK_TIMEOUT_MS. The caller turns a failure
 *   into `maskingerror` {reason}.
 */

import type { AgentsInfo } from "../../shared/protocol";
import { invalidSelector } from "./rules";

/** How long a hook call may take before the page is masked (documented in docs/masking.md). */
export const HOOK_TIMEOUT_MS = 5000;
/** Caps that keep a runaway hook from making every DOM check slow. */
const MAX_SELECTORS = 500;
const MAX_SELECTOR_LENGTH = 2000;

export type MaskingHook = (params: { agents?: AgentsInfo }) => unknown;

/** A valid descriptor; `maskpage` absent means "decide by the group's URL lists". */
export interface Descriptor {
  maskpage?: boolean;
  maskedelements: string[];
}

export type HookResult = { ok: true; descriptor: Descriptor } | { ok: false; reason: string };

/**
 * The hook as defined when the script loads: a function, null when the page defines none, or a string
 * saying why the page's `getMaskingDescriptor` is unusable (it is defined but not a function: mask).
 */
export function captureHook(settings: Record<string, unknown>): MaskingHook | null | string {
  const hook = settings.getMaskingDescriptor;
  if (hook === undefined || hook === null) return null;
  if (typeof hook !== "function") return "GLANCE_COBROWSE.getMaskingDescriptor is not a function";
  return hook as MaskingHook;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/** Checks what the hook resolved to; a valid descriptor or the reason it is not one. */
export function checkDescriptor(value: unknown, doc: Document = document): HookResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: `getMaskingDescriptor resolved to ${describe(value)}, not a masking descriptor object` };
  }
  const { maskpage, maskedelements } = value as { maskpage?: unknown; maskedelements?: unknown };
  if (maskpage !== undefined && typeof maskpage !== "boolean") {
    return { ok: false, reason: `maskpage must be true or false, not ${describe(maskpage)}` };
  }
  let selectors: string[] = [];
  if (maskedelements !== undefined) {
    if (!Array.isArray(maskedelements) || !maskedelements.every((s) => typeof s === "string")) {
      return { ok: false, reason: "maskedelements must be an array of CSS selector strings" };
    }
    if (maskedelements.length > MAX_SELECTORS) {
      return { ok: false, reason: `maskedelements has more than ${MAX_SELECTORS} selectors` };
    }
    selectors = [...(maskedelements as string[])]; // a copy: the site may change its array later
    for (const selector of selectors) {
      if (selector.length > MAX_SELECTOR_LENGTH) return { ok: false, reason: "a masked element selector is too long" };
      const problem = invalidSelector(selector, doc);
      if (problem) return { ok: false, reason: problem };
    }
  }
  return { ok: true, descriptor: { maskpage: maskpage as boolean | undefined, maskedelements: selectors } };
}

/** Calls the hook and settles with its checked answer; never rejects. */
export function callHook(hook: MaskingHook, agents: AgentsInfo | undefined): Promise<HookResult> {
  const params: { agents?: AgentsInfo } = {
    agents: agents ? (JSON.parse(JSON.stringify(agents)) as AgentsInfo) : undefined,
  };
  return new Promise<HookResult>((resolve) => {
    const timer = setTimeout(
      () => resolve({ ok: false, reason: `getMaskingDescriptor did not settle within ${HOOK_TIMEOUT_MS} ms` }),
      HOOK_TIMEOUT_MS,
    );
    const settle = (result: HookResult): void => {
      clearTimeout(timer);
      resolve(result);
    };
    let answer: unknown;
    try {
      answer = hook.call(window.GLANCE_COBROWSE, params);
    } catch (err) {
      settle({ ok: false, reason: `getMaskingDescriptor threw: ${describe(err)}` });
      return;
    }
    Promise.resolve(answer).then(
      (value) => settle(checkDescriptor(value)),
      (err: unknown) => settle({ ok: false, reason: `getMaskingDescriptor rejected: ${describe(err)}` }),
    );
  });
}
