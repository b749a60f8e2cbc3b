/**
 * Guests and the live-sessions list: the REST calls behind `inviteGuest()` and `listSessions()`, the agent
 * console's "Invite guest" button, admission prompts and live-sessions list, and the guest page's name form.
 *
 * Kept out of ui.ts (the join/view UI) so that each stays one concept. Everything from the server or a guest
 * (names, URLs) is set with `textContent` or as a property, never parsed as HTML. The server decides who may
 * invite and admit (permission `invite_guests`); the UI only shows the answer.
 */

import { AgentError, type GuestInvitation, type LiveSessionInfo } from "./api";
import type { AgentClient } from "./client";

/** How often the idle console refreshes the live-sessions list. */
const LIST_REFRESH_MS = 5000;

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, { credentials: "same-origin", ...init });
  if (!response.ok) {
    let detail = `${response.status}`;
    try {
      detail = String(((await response.json()) as { detail?: unknown }).detail ?? detail);
    } catch {
      // not JSON: keep the status
    }
    throw new AgentError(response.status === 403 ? "accessdenied" : "http", detail);
  }
  return (await response.json()) as T;
}

export async function inviteGuest(client: AgentClient): Promise<GuestInvitation> {
  const info = client.session;
  if (client.state !== "joined" || !info) throw new AgentError("notjoined", "not in a session");
  const out = await api<{ url: string; expires_at: string }>(`/api/v1/sessions/${info.session}/guests`, {
    method: "POST",
  });
  return { url: out.url, expiresAt: out.expires_at };
}

interface SessionOut {
  id: number;
  key: string;
  group: number;
  started_at: string;
  visitor: { name: string | null };
  page_url: string | null;
  page_title: string | null;
}

export async function listSessions(): Promise<LiveSessionInfo[]> {
  const me = await api<{ groups: number[] }>("/api/v1/me");
  const lists = await Promise.all(me.groups.map((g) => api<SessionOut[]>(`/api/v1/groups/${g}/sessions`)));
  return lists.flat().map((s) => ({
    session: s.id,
    key: s.key,
    group: s.group,
    visitorName: s.visitor.name,
    startedAt: s.started_at,
    pageUrl: s.page_url,
    pageTitle: s.page_title,
  }));
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls = "", text = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text) node.textContent = text;
  return node;
}

/** The idle console's list of live sessions (under the join form); a click joins. */
function bindLiveSessions(client: AgentClient, join: (key: string) => void): void {
  const form = document.getElementById("cb-join-form");
  if (!form) return;
  const box = el("div", "live-sessions");
  box.id = "cb-live-sessions";
  const title = el("h2", "", "Live sessions");
  const list = el("ul");
  list.id = "cb-live-list";
  box.append(title, list);
  form.appendChild(box);
  const render = (sessions: LiveSessionInfo[]): void => {
    if (!sessions.length) {
      list.replaceChildren(el("li", "muted", "No live sessions in your groups."));
      return;
    }
    list.replaceChildren(
      ...sessions.map((s) => {
        const li = el("li");
        li.dataset.key = s.key;
        const since = new Date(s.startedAt).toLocaleTimeString();
        const who = s.visitorName || "Visitor";
        const page = s.pageTitle || s.pageUrl || "";
        li.append(el("strong", "", s.key), el("span", "muted", `${who} · ${page} · since ${since}`));
        const button = el("button", "btn btn-primary", "Join");
        button.type = "button";
        button.addEventListener("click", () => join(s.key));
        li.appendChild(button);
        return li;
      }),
    );
  };
  const refresh = (): void => {
    if (client.state === "joined" || client.state === "connecting") return;
    listSessions().then(render, (err: Error) => list.replaceChildren(el("li", "error", err.message)));
  };
  setInterval(refresh, LIST_REFRESH_MS);
  client.events.on("state", refresh);
  refresh();
}

/** The side panel's "Invite guest" button, the link to copy, and the admission prompts. */
function bindInvite(client: AgentClient): void {
  const sidebar = document.querySelector(".sidebar");
  if (!sidebar) return;
  const section = el("section");
  section.id = "cb-guests";
  section.hidden = true;
  const invite = el("button", "btn btn-primary", "Invite guest");
  invite.type = "button";
  invite.id = "cb-invite";
  const link = el("input", "guest-link");
  link.id = "cb-guest-link";
  link.readOnly = true;
  link.hidden = true;
  const error = el("p", "error");
  const requests = el("ul", "guest-requests");
  requests.id = "cb-guest-requests";
  section.append(el("h2", "", "Guests"), invite, link, error, requests);
  sidebar.appendChild(section);

  invite.addEventListener("click", () => {
    error.textContent = "";
    inviteGuest(client).then(
      (inv) => {
        link.value = inv.url;
        link.title = `Single use; expires at ${new Date(inv.expiresAt).toLocaleTimeString()}`;
        link.hidden = false;
        link.select();
      },
      (err: Error) => {
        error.textContent = err.message;
      },
    );
  });
  client.events.on("state", ({ state }) => {
    section.hidden = state !== "joined";
    if (state !== "joined") {
      requests.replaceChildren();
      link.hidden = true;
    }
  });
  client.events.on("guestrequest", ({ guestid, name }) => {
    const li = el("li");
    li.dataset.guestid = String(guestid);
    li.appendChild(el("span", "", `${name} asks to join`));
    for (const [label, accept] of [
      ["Admit", true],
      ["Decline", false],
    ] as const) {
      const b = el("button", accept ? "btn btn-primary" : "btn btn-ghost", label);
      b.type = "button";
      b.dataset.action = accept ? "admit" : "decline";
      b.addEventListener("click", () => {
        try {
          client.admitGuest(guestid, accept);
        } catch (err) {
          error.textContent = (err as Error).message;
        }
      });
      li.appendChild(b);
    }
    requests.appendChild(li);
  });
  client.events.on("guestanswered", ({ guestid }) => {
    requests.querySelector(`li[data-guestid="${guestid}"]`)?.remove();
  });
  client.events.on("error", ({ code, msg }) => {
    // Only refusals of the guest actions (permissions.py: "invite needs the 'invite_guests' permission");
    // a refused remote-control request has its own status line (rc-controls.ts).
    if (code === "accessdenied" && client.state === "joined" && msg.startsWith("invite ")) error.textContent = msg;
  });
}

/** The agent console's guest and live-session features. */
export function bindAgentGuests(client: AgentClient): void {
  bindInvite(client);
  const keyInput = document.getElementById("cb-key-input") as HTMLInputElement | null;
  const joinForm = document.getElementById("cb-join-form") as HTMLFormElement | null;
  bindLiveSessions(client, (key) => {
    if (!keyInput || !joinForm) return;
    keyInput.value = key;
    joinForm.requestSubmit();
  });
}

/** The guest page: a name, then wait to be admitted (or declined). */
export function bindGuestPage(client: AgentClient, token: string): void {
  const form = document.getElementById("cb-guest-form") as HTMLFormElement | null;
  const name = document.getElementById("cb-guest-name") as HTMLInputElement | null;
  const button = document.getElementById("cb-guest-button") as HTMLButtonElement | null;
  const status = document.getElementById("cb-guest-status");
  const error = document.getElementById("cb-guest-error");
  if (!form || !name || !button || !status || !error) return;
  if (!token) {
    button.disabled = true;
    return;
  }
  const show = (): void => {
    form.hidden = client.state === "joined" || client.state === "ended";
  };
  client.events.on("state", show);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    error.textContent = "";
    status.textContent = "Waiting for an agent to admit you…";
    button.disabled = true;
    client.joinAsGuest(token, name.value).then(
      () => {
        status.textContent = "";
      },
      (err: AgentError) => {
        status.textContent = "";
        error.textContent =
          err.code === "guestdeclined" ? "An agent declined your request to join." : err.message || String(err);
        button.disabled = err.code !== "badname";
      },
    );
  });
  show();
}
