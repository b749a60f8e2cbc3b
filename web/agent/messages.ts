/**
 * Session messages on the console's side: `CobrowseAgent.sendSessionMessage(name, msg)` to the visitor's page
 * (`Visitor.addSessionMessageListener` there) and `CobrowseAgent.addSessionMessageListener(name, handler)` for
 * what the visitor's page sends (`Visitor.sendSessionMessage`), with `handler(name, msg)` as on the visitor
 * side. Every message also fires the `message` event with {name, data}.
 *
 * The payload rules are the visitor SDK's (web/shared/payload.ts): a name of 1 to 100 characters, a plain JSON
 * value of at most 64 KiB; anything else is refused with `badmessage` and nothing is sent. Nothing is queued:
 * sending needs a joined session with an open connection (`notjoined` / `conndrop` otherwise).
 */

import { encodePayload, nameProblem, copyJson } from "../shared/payload";
import { AgentError } from "./api";

export type AgentMessageHandler = (name: string, msg: unknown) => void;

/** Checks a message; returns its JSON text or throws AgentError `badmessage`. */
export function checkMessage(name: unknown, data: unknown): string {
  const badName = nameProblem(name);
  if (badName) throw new AgentError("badmessage", `sendSessionMessage: ${badName}`);
  const encoded = encodePayload(data, "msg");
  if ("problem" in encoded) throw new AgentError("badmessage", `sendSessionMessage: ${encoded.problem}`);
  return encoded.json;
}

export class AgentMessages {
  private readonly handlers = new Map<string, Set<AgentMessageHandler>>();

  add(name: unknown, handler: unknown): void {
    const badName = nameProblem(name);
    if (badName) throw new AgentError("badmessage", `addSessionMessageListener: ${badName}`);
    if (typeof handler !== "function") {
      throw new AgentError("badmessage", "addSessionMessageListener: the handler must be a function");
    }
    let set = this.handlers.get(name as string);
    if (!set) this.handlers.set(name as string, (set = new Set()));
    set.add(handler as AgentMessageHandler);
  }

  remove(name: unknown, handler: unknown): void {
    if (typeof name === "string") this.handlers.get(name)?.delete(handler as AgentMessageHandler);
  }

  /** A message from the visitor: each handler of its name gets its own copy. */
  dispatch(name: string, data: unknown): void {
    for (const handler of Array.from(this.handlers.get(name) ?? [])) {
      try {
        handler(name, copyJson(data));
      } catch (err) {
        console.error(`cobrowse: a session message handler for "${name}" failed`, err);
      }
    }
  }
}
