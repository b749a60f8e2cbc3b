/**
 * The console's one WebSocket to `/ws/agent`: opening, decoding, and reconnecting after a drop.
 *
 * It knows nothing of sessions: `onOpen` is where the owner (re)sends its `join`. A socket that drops for a
 * transient reason (network, server restart, a server fault, falling behind) is reopened with a growing delay;
 * a socket the server closed on purpose (unauthenticated, forbidden, not found, ended, ...) is not. Nothing is
 * queued while the socket is down: the only messages the console sends are re-derived on reconnect (`join`), or
 * lose their meaning (`resync` is implied by rejoining, `end`/`leave` are answered by the caller).
 */

import type { AgentToServer, ServerToAgent } from "../shared/protocol";
import type { ConnectionStatus } from "./api";

export interface ConnectionHandlers {
  onOpen(reconnected: boolean): void;
  onMessage(message: ServerToAgent): void;
  onStatus(status: ConnectionStatus): void;
  /** The connection is closed for good (not by `close()`): `code` is the WebSocket close code. */
  onClosed(code: number, reason: string): void;
}

/** Close codes after which reconnecting may help: going away, abnormal drop, server fault/restart, overload. */
const TRANSIENT = new Set([1001, 1005, 1006, 1011, 1012, 1013, 1014, 4429]);
const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000];
const MAX_RETRIES = 30;

export function agentSocketUrl(loc: Location = window.location): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/ws/agent`;
}

export class Connection {
  private ws: WebSocket | null = null;
  private retries = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private wasOpen = false;
  private closing = false;
  status: ConnectionStatus = "closed";

  constructor(
    private readonly url: string,
    private readonly handlers: ConnectionHandlers,
  ) {}

  open(): void {
    this.closing = false;
    this.retries = 0;
    this.wasOpen = false;
    this.connect();
  }

  /** Send one message; false when the socket is not open (the message is dropped, see the module doc). */
  send(message: AgentToServer): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Close on purpose: no reconnect, no `onClosed`. */
  close(): void {
    this.closing = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState !== WebSocket.CLOSED && ws.readyState !== WebSocket.CLOSING) ws.close(1000, "leave");
    this.setStatus("closed");
  }

  private connect(): void {
    this.setStatus(this.wasOpen ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      const reconnected = this.wasOpen;
      this.wasOpen = true;
      this.retries = 0;
      this.setStatus("connected");
      this.handlers.onOpen(reconnected);
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws !== ws || typeof ev.data !== "string") return;
      let message: unknown;
      try {
        message = JSON.parse(ev.data);
      } catch {
        console.warn("cobrowse: ignoring a frame that is not JSON");
        return;
      }
      if (message && typeof message === "object" && typeof (message as { t?: unknown }).t === "string") {
        this.handlers.onMessage(message as ServerToAgent);
      }
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closing) return;
      // Retry a transient drop of a session we were in; a first connection that fails is reported at once.
      if (this.wasOpen && TRANSIENT.has(ev.code) && this.retries < MAX_RETRIES) {
        const delay = RETRY_DELAYS_MS[Math.min(this.retries, RETRY_DELAYS_MS.length - 1)];
        this.retries += 1;
        this.setStatus("reconnecting");
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          if (!this.closing) this.connect();
        }, delay);
        return;
      }
      this.setStatus("closed");
      this.handlers.onClosed(ev.code, ev.reason);
    };
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.handlers.onStatus(status);
  }
}
