/**
 * What the console shows while the visitor has paused the session: the frozen view (the replay simply gets
 * no more events) completely covered by a panel with the visitor's message, or a default text.
 *
 * The message is the visitor page's HTML, shown only through sanitize.ts (an allow-list rebuilt in the
 * console's document: no scripts, handlers, styles or loads). The panel belongs to the stage, so it covers the
 * view for pages that embed the console through `window.CobrowseAgent` too, not only for the console's own UI.
 * It follows the client's `pause` state: shown from `joined` (an agent who joins during a pause) or `pause`,
 * hidden on unpause, leave, end or error.
 */

import type { PauseState } from "../shared/protocol";
import { sanitizeHtml } from "./sanitize";

export const DEFAULT_PAUSE_TEXT = "The visitor has paused the session.";

export class PauseCover {
  readonly element: HTMLDivElement;
  private readonly body: HTMLDivElement;

  constructor(stage: HTMLElement) {
    this.element = document.createElement("div");
    this.element.className = "cb-pause-cover";
    this.element.id = "cb-pause-cover";
    this.element.setAttribute("role", "status");
    this.element.hidden = true;
    const card = document.createElement("div");
    card.className = "cb-pause-card";
    const label = document.createElement("p");
    label.className = "cb-pause-label";
    label.textContent = "Session paused";
    this.body = document.createElement("div");
    this.body.className = "cb-pause-message";
    this.body.id = "cb-pause-message";
    card.append(label, this.body);
    this.element.appendChild(card);
    stage.appendChild(this.element);
  }

  get shown(): boolean {
    return !this.element.hidden;
  }

  /** Shows the cover for a pause, or hides it when `state.pause` is false. */
  show(state: PauseState | null | undefined): void {
    if (!state || !state.pause) {
      this.hide();
      return;
    }
    const message = typeof state.message === "string" && state.message.trim() !== "" ? state.message : null;
    const content = message ? sanitizeHtml(message) : null;
    if (content && content.textContent?.trim()) this.body.replaceChildren(content);
    else this.body.textContent = DEFAULT_PAUSE_TEXT;
    this.element.hidden = false;
  }

  hide(): void {
    this.element.hidden = true;
    this.body.replaceChildren();
  }
}
