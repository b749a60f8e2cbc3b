/**
 * Entry point of the agent console bundle (static/agent.js): builds the viewer and the client, publishes
 * `window.CobrowseAgent` (docs/agent-api.md), and binds the console page's UI when the page has one.
 *
 * The global is a frozen facade with only the documented members, so pages and tests depend on the contract
 * and not on the implementation's internals.
 */

import type { CobrowseAgentApi, ControlCommand } from "./api";
import { AgentError } from "./api";
import { AgentClient } from "./client";
import { bindAgentGuests, bindGuestPage, inviteGuest, listSessions } from "./guests";
import { MaskedPanel } from "./masked";
import { PauseCover } from "./pause-cover";
import { bindRemoteControlUi, controlPermitted } from "./rc-controls";
import { RemoteInput } from "./rc-input";
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
    requestControl: () => client.requestControl(),
    releaseControl: () => client.releaseControl(),
    get rc() {
      return client.rc.state;
    },
    control: (cmd: ControlCommand) => client.control(cmd),
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
  const viewer = new Viewer(stage);
  const client = new AgentClient(viewer);
  bindPauseCover(client, stage);
  bindMaskedPanel(client, stage);
  window.CobrowseAgent = facade(client);
  window.CobrowseAgentError = AgentError;
  if (document.getElementById("cb-join-form")) bindUi(client);
  const guestToken = document.body.dataset.guestToken;
  if (guestToken !== undefined) {
    bindGuestPage(client, guestToken);
    return; // a guest only watches: no remote control
  }
  // the agent's mouse and keyboard over the view while it has control (also for pages embedding the console)
  const input = new RemoteInput(client, viewer);
  const permission = controlPermitted();
  void permission.then((ok) => input.permit(ok));
  if (document.getElementById("cb-join-form")) {
    bindAgentGuests(client);
    bindRemoteControlUi(client, permission);
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
else start();
