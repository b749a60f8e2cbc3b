/**
 * Entry point of the agent console bundle (static/agent.js): builds the viewer and the client, publishes
 * `window.CobrowseAgent` (docs/agent-api.md), and binds the console page's UI when the page has one.
 *
 * The global is a frozen facade with only the documented members, so pages and tests depend on the contract
 * and not on the implementation's internals.
 */

import type { CobrowseAgentApi } from "./api";
import { AgentError } from "./api";
import { AgentClient } from "./client";
import { bindAgentGuests, bindGuestPage, inviteGuest, listSessions } from "./guests";
import { MaskedPanel } from "./masked";
import { PauseCover } from "./pause-cover";
import { bindUi } from "./ui";
import { Viewer } from "./viewer";

declare global {
  interface Window {
    CobrowseAgent?: CobrowseAgentApi;
    CobrowseAgentError?: typeof AgentError;
  }
}

function facade(client: AgentClient): CobrowseAgentApi {
  return Object.freeze({
    join: (key: string, opts?: { group?: number }) => client.join(key, opts),
    leave: () => client.leave(),
    end: () => client.end(),
    on: ((event, fn) => client.events.on(event, fn)) as CobrowseAgentApi["on"],
    off: ((event, fn) => client.events.off(event, fn)) as CobrowseAgentApi["off"],
    get state() {
      return client.state;
    },
    get session() {
      const info = client.session;
      return info ? (JSON.parse(JSON.stringify(info)) as typeof info) : null;
    },
    get connection() {
      return client.connection;
    },
    get lastSeq() {
      return client.lastSeq;
    },
    get epoch() {
      return client.epoch;
    },
    replayFrame: () => client.replayFrame(),
    sendSessionMessage: (name: string, data: unknown) => client.sendSessionMessage(name, data),
    addSessionMessageListener: (name: string, handler: (name: string, msg: unknown) => void) =>
      client.messages.add(name, handler),
    removeSessionMessageListener: (name: string, handler: (name: string, msg: unknown) => void) =>
      client.messages.remove(name, handler),
    inviteGuest: () => inviteGuest(client),
    admitGuest: (guestid: number, accept: boolean) => client.admitGuest(guestid, accept),
    listSessions: () => listSessions(),
    joinAsGuest: (token: string, name: string) => client.joinAsGuest(token, name),
  });
}

/** The pause cover over the view follows the session's pause state (pause-cover.ts). */
function bindPauseCover(client: AgentClient, stage: HTMLElement): void {
  const cover = new PauseCover(stage);
  client.events.on("joined", (info) => cover.show(info.pause));
  client.events.on("pause", (state) => cover.show(state));
  client.events.on("state", ({ state }) => {
    if (state !== "joined") cover.hide();
  });
}

/** "This page is masked" follows the epochs: shown for a masked page's epoch, hidden by the next one (masked.ts). */
function bindMaskedPanel(client: AgentClient, stage: HTMLElement): void {
  const panel = new MaskedPanel(stage);
  client.events.on("events", ({ snapshot, masked }) => {
    if (snapshot) panel.show(masked);
  });
  client.events.on("state", ({ state }) => {
    if (state !== "joined") panel.show(false);
  });
}

function start(): void {
  let stage = document.getElementById("cb-stage");
  if (!stage) {
    stage = document.createElement("div");
    stage.id = "cb-stage";
    document.body.appendChild(stage);
  }
  const client = new AgentClient(new Viewer(stage));
  bindPauseCover(client, stage);
  bindMaskedPanel(client, stage);
  window.CobrowseAgent = facade(client);
  window.CobrowseAgentError = AgentError;
  if (document.getElementById("cb-join-form")) bindUi(client);
  const guestToken = document.body.dataset.guestToken;
  if (guestToken !== undefined) bindGuestPage(client, guestToken);
  else if (document.getElementById("cb-join-form")) bindAgentGuests(client);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
else start();
