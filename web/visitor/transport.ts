/**
 * The visitor's one WebSocket to `ws(s)://SERVER/ws/visitor`, carrying JSON text frames (docs/protocol.md).
 *
 * This is the only module that touches the network. It knows nothing of sessions: it opens, sends, decodes
 * and reports closes. A reconnect is a new `connect()`; events of an older socket are ignored, so a late
 * close of a socket we already replaced cannot confuse the session.
 */

import type { ServerToVisitor, VisitorToServer } from "../shared/protocol";

export interface TransportHandlers {
  onOpen(): void;
  onMessage(message: ServerToVisitor): void;
  /** `opened` tells a failed connection attempt from a drop of a working connection. */
  onClose(code: number, reason: string, opened: boolean): void;
}

export class Transport {
  private socket: WebSocket | null = null;

  /** Replaceable: a socket that must finish a job for an ended session gets other handlers (session.ts). */
  handlers: TransportHandlers;

  constructor(
    private readonly url: string,
    handlers: TransportHandlers,
  ) {
    this.handlers = handlers;
  }

  /** Opens a new socket, closing any previous one first. */
  connect(): void {
    this.close();
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.url);
    } catch (err) {
      // A malformed URL or a blocked scheme (CSP): report it like a failed connection.
      console.error("cobrowse: cannot open the connection to the server", err);
      queueMicrotask(() => this.handlers.onClose(1006, String(err), false));
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.handlers.onOpen();
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.socket !== socket || typeof event.data !== "string") return;
      let message: unknown;
      try {
        message = JSON.parse(event.data);
      } catch {
        console.warn("cobrowse: ignoring a server frame that is not JSON");
        return;
      }
      if (typeof message !== "object" || message === null || typeof (message as { t?: unknown }).t !== "string") {
        console.warn("cobrowse: ignoring a server frame without a type");
        return;
      }
      this.handlers.onMessage(message as ServerToVisitor);
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.handlers.onClose(event.code, event.reason, opened);
    };
  }

  /** True while a socket is connecting or open. */
  get active(): boolean {
    return this.socket !== null;
  }

  get isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  /** Bytes the browser has queued but not yet sent: the outbox's backpressure signal. */
  get bufferedAmount(): number {
    return this.socket?.bufferedAmount ?? 0;
  }

  send(message: VisitorToServer): boolean {
    return this.sendText(JSON.stringify(message));
  }

  /** Sends an already encoded frame; false (and nothing sent) when the socket is not open. */
  sendText(text: string): boolean {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(text);
    return true;
  }

  /** Closes the socket without reporting it: a close we asked for is not a drop. Queued frames still go out. */
  close(code = 1000, reason = ""): void {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    try {
      socket.close(code, reason);
    } catch {
      // Already closing.
    }
  }
}
