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
  window.CobrowseAgent = facade(client);
  window.CobrowseAgentError = AgentError;
  if (document.getElementById("cb-join-form")) bindUi(client);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
else start();
