/**
 * The console's remote-control controls: the "Request control" / "Release control" button and a status line
 * that says where control stands ("Waiting for the visitor…", "You have control", suspended, declined).
 *
 * The button is there only while joined, and disabled (with a tooltip saying why) for an agent whose
 * permissions (`/api/v1/me`) lack `remote_control`; the server refuses such an agent anyway. The guest page
 * has none of this (its HTML has no button and index.ts does not bind it). Separate from ui.ts so that the
 * join/view UI and remote control each stay one concept.
 */

import type { RcInfo } from "./api";
import type { AgentClient } from "./client";

export const RC_LABELS = {
  waiting: "Waiting for the visitor…",
  granted: "You have control",
  suspended: "Control suspended: the visitor is using their page",
  declined: "The visitor declined",
} as const;

const NO_PERMISSION = "Your role does not include remote control";

/** The status line's text and pill colour for a state, or null for nothing to say. */
function statusOf(rc: RcInfo): { text: string; status: string } | null {
  if (rc.enabled && rc.suspended) return { text: RC_LABELS.suspended, status: "waiting" };
  if (rc.enabled) return { text: RC_LABELS.granted, status: "ok" };
  if (rc.requested) return { text: RC_LABELS.waiting, status: "waiting" };
  if (rc.declined) return { text: RC_LABELS.declined, status: "declined" };
  return null;
}

/** Whether the signed-in agent holds `remote_control` (false when that cannot be found out). */
export async function controlPermitted(): Promise<boolean> {
  try {
    const response = await fetch("/api/v1/me", { credentials: "same-origin" });
    if (!response.ok) return false;
    const me = (await response.json()) as { permissions?: unknown };
    return Array.isArray(me.permissions) && me.permissions.includes("remote_control");
  } catch {
    return false;
  }
}

export function bindRemoteControlUi(client: AgentClient, permission: Promise<boolean>): void {
  const maybeButton = document.getElementById("cb-rc") as HTMLButtonElement | null;
  const maybeStatus = document.getElementById("cb-rc-status");
  if (!maybeButton || !maybeStatus) return;
  const [button, status] = [maybeButton, maybeStatus];
  let permitted: boolean | null = null; // null: not known yet
  let refusal: string | null = null; // the server's last refusal, shown until control changes

  function render(): void {
    const rc = client.rc.state;
    const joined = client.state === "joined";
    button.hidden = !joined;
    button.textContent = rc.enabled ? "Release control" : "Request control";
    button.dataset.action = rc.enabled ? "release" : "request";
    button.disabled = permitted !== true || (!rc.enabled && rc.requested);
    button.title = permitted === false ? NO_PERMISSION : "";
    const shown = joined ? (refusal ? { text: refusal, status: "declined" } : statusOf(rc)) : null;
    status.hidden = shown === null;
    status.textContent = shown?.text ?? "";
    status.dataset.status = shown?.status ?? "closed";
  }

  button.addEventListener("click", () => {
    refusal = null;
    try {
      if (client.rc.state.enabled) client.releaseControl();
      else client.requestControl();
    } catch (err) {
      refusal = (err as Error).message;
    }
    render();
  });
  client.events.on("rc", () => {
    refusal = null;
    render();
  });
  client.events.on("state", render);
  client.events.on("error", ({ code, msg }) => {
    if ((code === "rcoff" || code === "accessdenied") && client.state === "joined") {
      refusal = msg || "Remote control was refused";
      render();
    }
  });
  void permission.then((ok) => {
    permitted = ok;
    render();
  });
  render();
}
