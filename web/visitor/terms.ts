/**
 * The terms dialog: `GLANCE.Cobrowse.VisitorUI.showTerms(options)` (and the deprecated
 * `Visitor.showTerms()`), also opened by a click on an element with `glance_button="showTerms"`.
 *
 * A modal dialog with the terms text, a link to the site's terms (`data-termsurl` on the script tag, http(s)
 * only, opened in a new tab) and Accept / Decline. Accept starts the session with the given start options or,
 * without them, the start parameters (setStartParams); Decline (or Escape) closes it.
 *
 * Like the default UI it lives in a closed shadow root under a `glance-cobrowse-ui` host, which capture blocks
 * and cuts out of every event (exclude.ts), so the dialog never reaches the agent, and site CSS cannot
 * restyle it nor site scripts reach into it. It exists only while shown.
 */

import { UI_HOST_TAG } from "./ui";

export interface TermsModel {
  /** The terms page (`data-termsurl`), or null. */
  termsUrl(): string | null;
  accept(): void;
}

const TEXT = {
  title: "Share your screen with an agent?",
  body:
    "The agent will see this browser tab, as you see it, until you stop sharing. Fields the site marks as " +
    "private are hidden from the agent. The agent cannot see your other tabs, other programs or your desktop.",
  link: "Terms and conditions",
  accept: "Accept",
  decline: "Decline",
};

const HOST_STYLE = [
  "all: initial",
  "display: block",
  "position: fixed",
  "left: 0",
  "top: 0",
  "width: 0",
  "height: 0",
  "overflow: visible",
  "z-index: 2147483647",
]
  .map((rule) => `${rule} !important`)
  .join("; ");

const CSS = `
:host { all: initial; }
.backdrop { position: fixed; inset: 0; background: rgba(27, 36, 48, .45); display: flex; align-items: center;
  justify-content: center; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b2430; }
.dialog { background: #fff; border-radius: 10px; box-shadow: 0 8px 32px rgba(0,0,0,.3); max-width: 420px;
  margin: 16px; padding: 20px 22px; }
h2 { font-size: 17px; margin: 0 0 10px; }
p { margin: 0 0 12px; }
a { color: #1f6feb; }
.buttons { display: flex; gap: 10px; justify-content: flex-end; margin-top: 16px; }
button { font: inherit; cursor: pointer; border: 0; border-radius: 6px; padding: 8px 16px; }
.accept { background: #1f6feb; color: #fff; }
.decline { background: #eaeef2; color: #1b2430; }
`;

/** `url` when it is an absolute or page-relative http(s) URL, else null (no javascript: links). */
export function safeTermsUrl(url: unknown): string | null {
  if (typeof url !== "string" || url.trim() === "") return null;
  try {
    const parsed = new URL(url.trim(), document.baseURI);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export class TermsDialog {
  private host: HTMLElement | null = null;

  constructor(private readonly model: TermsModel) {}

  get open(): boolean {
    return this.host !== null;
  }

  show(): void {
    if (this.host) return;
    if (!document.body) {
      document.addEventListener("DOMContentLoaded", () => this.show(), { once: true });
      return;
    }
    const host = document.createElement(UI_HOST_TAG);
    host.setAttribute("data-no-cobrowse-content", "1");
    host.setAttribute("style", HOST_STYLE);
    const root = host.attachShadow({ mode: "closed" });
    const style = document.createElement("style");
    style.textContent = CSS;
    const backdrop = document.createElement("div");
    backdrop.className = "backdrop";
    const dialog = document.createElement("div");
    dialog.className = "dialog";
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-labelledby", "glance-terms-title");
    const title = document.createElement("h2");
    title.id = "glance-terms-title";
    title.textContent = TEXT.title;
    const body = document.createElement("p");
    body.textContent = TEXT.body;
    dialog.append(title, body);
    const url = this.model.termsUrl();
    if (url) {
      const p = document.createElement("p");
      const link = document.createElement("a");
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.textContent = TEXT.link;
      p.appendChild(link);
      dialog.appendChild(p);
    }
    const buttons = document.createElement("div");
    buttons.className = "buttons";
    const decline = this.button("decline", TEXT.decline, () => this.close());
    const accept = this.button("accept", TEXT.accept, () => {
      this.close();
      this.model.accept();
    });
    buttons.append(decline, accept);
    dialog.appendChild(buttons);
    backdrop.appendChild(dialog);
    backdrop.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close();
    });
    root.append(style, backdrop);
    document.body.appendChild(host);
    this.host = host;
    accept.focus();
  }

  close(): void {
    const host = this.host;
    this.host = null;
    host?.remove();
  }

  private button(className: string, text: string, onClick: () => void): HTMLButtonElement {
    const button = document.createElement("button");
    button.type = "button";
    button.className = className;
    button.textContent = text;
    button.addEventListener("click", onClick);
    return button;
  }
}
