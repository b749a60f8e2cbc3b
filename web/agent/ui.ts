/**
 * The console page's own UI: the join form, the header (key, connection, visitor status, End and Leave), the
 * visitor's page title and URL, the visitor and agents panel, and the overlay over the view.
 *
 * Everything that comes from the visitor or the server is set with `textContent` (or as an attribute value),
 * never parsed as HTML, so nothing a visitor's page says can run or restyle the console.
 */

import type { AgentsInfo, EndReason, PageInfo, VisitorInfo } from "../shared/protocol";
import type { AgentState, ConnectionStatus } from "./api";
import type { AgentClient } from "./client";

const CONNECTION_LABELS: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Not connected",
};

const END_LABELS: Record<EndReason, string> = {
  agent: "The session was ended by an agent.",
  visitor: "The visitor ended the session.",
  error: "The session ended because of an error.",
  timeout: "The session ended: the visitor did not come back.",
};

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`cobrowse console: element #${id} is missing from the page`);
  return el as T;
}

export function bindUi(agent: AgentClient): void {
  const joinForm = byId<HTMLFormElement>("cb-join-form");
  const keyInput = byId<HTMLInputElement>("cb-key-input");
  const joinButton = byId<HTMLButtonElement>("cb-join-button");
  const joinError = byId<HTMLElement>("cb-join-error");
  const sessionMeta = byId<HTMLElement>("cb-session-meta");
  const sessionKey = byId<HTMLElement>("cb-session-key");
  const connStatus = byId<HTMLElement>("cb-conn-status");
  const visitorStatus = byId<HTMLElement>("cb-visitor-status");
  const endButton = byId<HTMLButtonElement>("cb-end");
  const leaveButton = byId<HTMLButtonElement>("cb-leave");
  const pageBar = byId<HTMLElement>("cb-pagebar");
  const pageTitle = byId<HTMLElement>("cb-page-title");
  const pageUrl = byId<HTMLElement>("cb-page-url");
  const overlay = byId<HTMLElement>("cb-overlay");
  const overlayMessage = byId<HTMLElement>("cb-overlay-message");
  const overlayAction = byId<HTMLButtonElement>("cb-overlay-action");
  const overlayCard = byId<HTMLElement>("cb-overlay-card");
  const visitorInfo = byId<HTMLElement>("cb-visitor-info");
  const agentList = byId<HTMLElement>("cb-agents");
  const agentCount = byId<HTMLElement>("cb-agent-count");

  let viewing = false; // a recording is shown
  let ended: EndReason | null = null;
  let lastError: string | null = null; // the server's (or connection's) last error message, shown as text

  function setUrlKey(key: string | null): void {
    const url = new URL(window.location.href);
    if (key) url.searchParams.set("key", key);
    else url.searchParams.delete("key");
    window.history.replaceState(null, "", url.pathname + url.search);
  }

  function showPage(page: PageInfo | null): void {
    pageBar.hidden = page === null;
    pageTitle.textContent = page?.title || (page ? "(untitled page)" : "");
    pageUrl.textContent = page?.url ?? "";
    pageUrl.title = page?.url ?? "";
  }

  function showVisitorStatus(connected: boolean | null, tabs = 1): void {
    visitorStatus.hidden = connected === null;
    visitorStatus.dataset.status = connected ? "ok" : "waiting";
    visitorStatus.dataset.tabs = String(tabs);
    const tabsNote = tabs > 1 ? ` · ${tabs} tabs, showing the one in use` : "";
    visitorStatus.textContent = connected ? `Visitor connected${tabsNote}` : "Visitor navigating…";
  }

  function showVisitor(visitor: VisitorInfo | null): void {
    const rows: Array<[string, string | null]> = visitor
      ? [
          ["Name", visitor.name],
          ["Email", visitor.email],
          ["Phone", visitor.phone],
          ["Visitor id", visitor.visitorid],
        ]
      : [];
    const items: HTMLElement[] = [];
    for (const [label, value] of rows) {
      if (!value) continue;
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.textContent = value;
      items.push(dt, dd);
    }
    if (!items.length) {
      const dd = document.createElement("dd");
      dd.className = "muted";
      dd.textContent = visitor ? "No details given" : "—";
      items.push(dd);
    }
    visitorInfo.replaceChildren(...items);
  }

  function showAgents(agents: AgentsInfo | null): void {
    const list = agents?.agentlist ?? [];
    agentCount.textContent = agents ? String(agents.count) : "";
    agentList.replaceChildren(
      ...list.map((a) => {
        const li = document.createElement("li");
        const name = document.createElement("span");
        name.className = "agent-name";
        name.textContent = a.name || a.username || "Agent";
        li.appendChild(name);
        const detail = a.title || (a.role === "guest" ? "Guest" : a.username ?? "");
        if (detail) {
          const small = document.createElement("span");
          small.className = "muted";
          small.textContent = detail;
          li.appendChild(small);
        }
        return li;
      }),
    );
  }

  /** Join form, a message, or nothing over the view, depending on the state. */
  function updateOverlay(): void {
    const state: AgentState = agent.state;
    const info = agent.session;
    let message: string | null = null;
    let action: string | null = null;
    let form = false;
    if (state === "idle" || (state === "error" && !info)) {
      form = true;
    } else if (state === "connecting") {
      message = "Joining the session…";
    } else if (state === "ended") {
      message = END_LABELS[ended ?? "agent"] ?? "The session has ended.";
      action = "Join another session";
    } else if (state === "error") {
      message = lastError ? `The session cannot be shown: ${lastError}` : "The connection to the session was lost.";
      action = "Join another session";
    } else if (agent.connection === "reconnecting") {
      message = "Connection lost. Reconnecting…";
    } else if (!viewing) {
      message = info?.visitorConnected === false ? "The visitor is changing pages…" : "Waiting for the visitor's page…";
    }
    joinForm.hidden = !form;
    overlayMessage.hidden = message === null;
    overlayMessage.textContent = message ?? "";
    overlayAction.hidden = action === null;
    overlayAction.textContent = action ?? "";
    overlayCard.hidden = message === null && action === null;
    overlay.hidden = !form && message === null;
    overlay.dataset.dim = viewing ? "true" : "false";
  }

  function updateHeader(): void {
    const info = agent.session;
    const inSession = agent.state === "joined" || agent.state === "connecting";
    sessionMeta.hidden = !info;
    sessionKey.textContent = info?.key ?? "";
    endButton.hidden = agent.state !== "joined";
    leaveButton.hidden = !inSession;
    joinButton.disabled = agent.state === "connecting";
    showVisitorStatus(info && agent.state === "joined" ? info.visitorConnected : null, info?.visitorTabs ?? 1);
    document.title = info ? `Session ${info.key} · Agent console` : "Agent console · cobrowse";
  }

  function showConnection(status: ConnectionStatus): void {
    connStatus.dataset.status = status;
    connStatus.textContent = CONNECTION_LABELS[status];
  }

  function refresh(): void {
    updateHeader();
    updateOverlay();
  }

  function resetView(): void {
    viewing = false;
    ended = null;
    lastError = null;
    showPage(null);
    showVisitor(null);
    showAgents(null);
  }

  async function join(key: string): Promise<void> {
    joinError.textContent = "";
    resetView();
    try {
      const info = await agent.join(key);
      setUrlKey(info.key);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code === "aborted") return;
      joinError.textContent = e.message || String(err);
      keyInput.value = key;
      refresh();
    }
  }

  joinForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = keyInput.value.trim();
    if (key) void join(key);
  });
  leaveButton.addEventListener("click", () => {
    agent.leave();
    resetView();
    setUrlKey(null);
    refresh();
    keyInput.focus();
  });
  endButton.addEventListener("click", () => {
    endButton.disabled = true;
    agent
      .end()
      .catch((err: Error) => {
        joinError.textContent = err.message;
      })
      .finally(() => {
        endButton.disabled = false;
      });
  });
  overlayAction.addEventListener("click", () => {
    agent.leave();
    resetView();
    setUrlKey(null);
    refresh();
    keyInput.focus();
  });

  agent.events.on("state", refresh);
  agent.events.on("connection", ({ status }) => {
    showConnection(status);
    refresh();
  });
  agent.events.on("joined", (info) => {
    showPage(info.page);
    showVisitor(info.visitor);
    showAgents(info.agents);
    refresh();
  });
  agent.events.on("events", ({ snapshot }) => {
    if (snapshot && !viewing) {
      viewing = true;
      refresh();
    }
  });
  agent.events.on("page", showPage);
  agent.events.on("visitor", () => refresh());
  agent.events.on("agents", showAgents);
  agent.events.on("ended", ({ reason }) => {
    ended = reason;
    setUrlKey(null);
    refresh();
  });
  agent.events.on("error", ({ msg }) => {
    lastError = msg;
    if (agent.state !== "joined") joinError.textContent = msg;
    refresh();
  });

  showConnection(agent.connection);
  resetView();
  refresh();

  const initialKey = new URL(window.location.href).searchParams.get("key");
  if (initialKey) {
    keyInput.value = initialKey;
    void join(initialKey);
  }
}
