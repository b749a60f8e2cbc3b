/**
 * Session messages between the visitor's page and the agents: `Visitor.sendSessionMessage(msgName, msg)` and
 * `Visitor.addSessionMessageListener(msgName, handler)` with `handler(msgName, msg)`.
 *
 * Payload rules (shared with the agent console, web/shared/payload.ts): a name of 1 to 100 characters and a
 * plain JSON value of at most 64 KiB once encoded; anything else throws `badmessage` and sends nothing.
 *
 * A message sent while the page is not connected (the session resumes on a new page, or reconnects after a
 * drop) waits in a bounded queue and goes out once the server confirms the session on this page. Overflow
 * policy: past MAX_QUEUED messages or MAX_QUEUED_BYTES the call throws `overloaded` and the message is not
 * kept. What a page queued and never sent is lost when the page unloads.
 */

import type { SessionMessageMsg } from "../shared/protocol";
import { msg } from "../shared/protocol";
import { copyJson, encodePayload, nameProblem } from "../shared/payload";
import { VisitorError } from "./keys";
import type { SessionClient } from "./session";
import type { SiteEvents } from "./site-events";

export const MAX_QUEUED = 50;
export const MAX_QUEUED_BYTES = 1024 * 1024;

export type MessageHandler = (msgName: string, msg: unknown) => void;

/** Validates a named payload; throws VisitorError `badmessage` naming the problem. Returns the JSON text. */
export function checkNamed(method: string, name: unknown, data: unknown, what: string): string {
  const badName = nameProblem(name);
  if (badName) throw new VisitorError("badmessage", `cobrowse: ${method}: ${badName}`);
  const encoded = encodePayload(data, what);
  if ("problem" in encoded) throw new VisitorError("badmessage", `cobrowse: ${method}: ${encoded.problem}`);
  return encoded.json;
}

export class SessionMessages {
  private readonly handlers = new Map<string, Set<MessageHandler>>();
  private queue: { text: string; bytes: number }[] = [];
  private queuedBytes = 0;

  constructor(
    private readonly session: SessionClient,
    private readonly site: SiteEvents,
  ) {}

  /** sendSessionMessage: checked, then sent now or queued until the page is connected. */
  send(name: unknown, data: unknown): void {
    const json = checkNamed("sendSessionMessage", name, data, "msg");
    const message = msg<SessionMessageMsg>({ t: "message", name: name as string, data: JSON.parse(json) });
    if (this.queue.length === 0 && this.session.sendControl(message)) return;
    const text = JSON.stringify(message);
    if (this.queue.length >= MAX_QUEUED || this.queuedBytes + text.length > MAX_QUEUED_BYTES) {
      throw new VisitorError(
        "overloaded",
        `cobrowse: sendSessionMessage: ${this.queue.length} messages are already waiting for the connection; ` +
          "try again once the session is connected",
      );
    }
    this.queue.push({ text, bytes: text.length });
    this.queuedBytes += text.length;
  }

  /** Sends what waited (called when the server confirmed the session on this page). */
  flush(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (!this.session.sendControl(JSON.parse(next.text) as SessionMessageMsg)) return;
      this.queue.shift();
      this.queuedBytes -= next.bytes;
    }
  }

  /** Forgets what waited (the session ended). */
  clear(): void {
    this.queue = [];
    this.queuedBytes = 0;
  }

  addListener(name: unknown, handler: unknown): void {
    const badName = nameProblem(name);
    if (badName) throw new VisitorError("badmessage", `cobrowse: addSessionMessageListener: ${badName}`);
    if (typeof handler !== "function") {
      throw new VisitorError("invalidparams", "cobrowse: addSessionMessageListener: the handler must be a function");
    }
    let set = this.handlers.get(name as string);
    if (!set) this.handlers.set(name as string, (set = new Set()));
    set.add(handler as MessageHandler);
  }

  removeListener(name: unknown, handler: unknown): void {
    if (typeof name === "string") this.handlers.get(name)?.delete(handler as MessageHandler);
  }

  /** A message from an agent: to this name's handlers (through the custom-UI hold, site-events.ts). */
  receive(m: SessionMessageMsg): void {
    if (typeof m.name !== "string") return;
    const name = m.name;
    const data = m.data;
    this.site.deliver(() => {
      for (const handler of Array.from(this.handlers.get(name) ?? [])) {
        try {
          // Each handler gets its own copy: one handler changing the payload cannot affect the next.
          handler(name, copyJson(data));
        } catch (err) {
          console.error(`cobrowse: a session message handler for "${name}" threw`, err);
        }
      }
    });
  }
}
