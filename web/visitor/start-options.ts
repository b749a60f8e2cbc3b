/**
 * The options object of `startSession(options)` and `setStartParams(options)`: every field checked by type
 * and value before anything happens, so a mistake throws at the call (naming the option) and leaves the
 * session and the stored start parameters as they were.
 *
 * Known options (visitor API, "Using startSession()"): `groupid`, `sessionKey`, `name`, `email`, `phone`,
 * `content`, and the video parameters `video`, `videosource`, `previewelementid`, `camerastatus`,
 * `videopaused`. The video parameters are validated and kept (see `videoParams`) for the video feature; this
 * SDK does not start video yet. An option given as `undefined` or `null` counts as absent. The key and visitor
 * field rules themselves (length, characters) are checked later by keys.ts, where the session is built.
 */

import { VisitorError } from "./keys";

export const VIDEO_MODES = ["large", "small", "off"] as const;
export const CAMERA_STATUSES = ["available", "nocamera", "blocked", "aborted", "notsupported", "error"] as const;

/** startSession(options) / setStartParams(options), as validated. */
export interface StartOptions {
  groupid?: number | string;
  sessionKey?: string;
  name?: string;
  email?: string;
  phone?: string;
  content?: "visible";
  video?: (typeof VIDEO_MODES)[number];
  videosource?: string;
  previewelementid?: string;
  camerastatus?: (typeof CAMERA_STATUSES)[number];
  videopaused?: boolean;
}

/** The video parameters of a start, kept for the video feature. */
export type VideoParams = Pick<StartOptions, "video" | "videosource" | "previewelementid" | "camerastatus" | "videopaused">;

type Check = (value: unknown, option: string, where: string) => void;

function fail(where: string, text: string): never {
  throw new VisitorError("invalidparams", `cobrowse: ${where} option ${text}`);
}

function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return String(value);
}

const stringOrNumber: Check = (value, option, where) => {
  if (typeof value !== "string" && !(typeof value === "number" && Number.isFinite(value))) {
    fail(where, `"${option}" must be a string, not ${shown(value)}`);
  }
};

const string: Check = (value, option, where) => {
  if (typeof value !== "string") fail(where, `"${option}" must be a string, not ${shown(value)}`);
};

function oneOf(values: readonly string[]): Check {
  return (value, option, where) => {
    if (typeof value !== "string" || !values.includes(value)) {
      fail(where, `"${option}" must be ${values.map((v) => `"${v}"`).join(", ")}, not ${shown(value)}`);
    }
  };
}

const CHECKS: Record<keyof StartOptions, Check> = {
  groupid: (value, option, where) => {
    const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim() : "";
    if (!/^[0-9]{1,15}$/.test(text) || Number(text) <= 0) {
      fail(where, `"${option}" must be a positive whole number, not ${shown(value)}`);
    }
  },
  // The key's characters are checked by keys.ts (code "badkey", naming the rule); here only its type.
  sessionKey: stringOrNumber,
  name: stringOrNumber,
  email: string,
  phone: stringOrNumber,
  content: (value, option, where) => {
    if (value === "hidden") fail(where, `"${option}": "hidden" is not supported; only "visible"`);
    oneOf(["visible"])(value, option, where);
  },
  video: oneOf(VIDEO_MODES),
  videosource: string,
  previewelementid: string,
  camerastatus: oneOf(CAMERA_STATUSES),
  videopaused: (value, option, where) => {
    if (typeof value !== "boolean") fail(where, `"${option}" must be true or false, not ${shown(value)}`);
  },
};

export const START_OPTIONS = Object.keys(CHECKS) as (keyof StartOptions)[];

/**
 * Validates an options object and returns a clean copy (absent options dropped); throws VisitorError
 * `invalidparams` naming the first bad or unknown option. `where` names the method in messages.
 */
export function checkStartOptions(options: unknown, where: string): StartOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new VisitorError("invalidparams", `cobrowse: ${where} takes an options object, not ${shown(options)}`);
  }
  const clean: Record<string, unknown> = {};
  for (const option of Object.keys(options)) {
    const value = (options as Record<string, unknown>)[option];
    const check = (CHECKS as Record<string, Check | undefined>)[option];
    if (!Object.prototype.hasOwnProperty.call(CHECKS, option) || !check) {
      throw new VisitorError(
        "invalidparams",
        `cobrowse: unknown ${where} option "${option}" (known options: ${START_OPTIONS.join(", ")})`,
      );
    }
    if (value === undefined || value === null) continue;
    check(value, option, where);
    clean[option] = value;
  }
  return clean as StartOptions;
}

/** The video parameters of validated options (empty when none were given). */
export function videoParams(options: StartOptions): VideoParams {
  const video: VideoParams = {};
  if (options.video !== undefined) video.video = options.video;
  if (options.videosource !== undefined) video.videosource = options.videosource;
  if (options.previewelementid !== undefined) video.previewelementid = options.previewelementid;
  if (options.camerastatus !== undefined) video.camerastatus = options.camerastatus;
  if (options.videopaused !== undefined) video.videopaused = options.videopaused;
  return video;
}
