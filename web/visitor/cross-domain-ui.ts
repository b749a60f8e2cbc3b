/**
 * The question of `GLANCE.Cobrowse.VisitorUI.promptCrossDomain(options)`: "Continue sharing on HOST?" with
 * Yes / No, before the session is carried to another domain.
 *
 * Why ask in the page: the visitor decides whether the agent follows them to another site, and their click on
 * Yes is the user gesture a new window (`target: "_blank"`) needs to get past popup blockers.
 *
 * Like the terms dialog (terms.ts) it lives in a closed shadow root under a `glance-cobrowse-ui` host, which
 * capture blocks and cuts out of every event (exclude.ts): the agent never sees it, site CSS cannot restyle
 * it and site scripts cannot click it for the visitor. It exists only while shown; a second prompt replaces
 * the first (which counts as No). Escape is No.
 */

import { UI_HOST_TAG } from "./ui";

const TEXT = {
  title: (host: string | null) => (host ? `Continue sharing on ${host}?` : "Continue sharing on our other sites?"),
  body: "The agent will keep seeing this browser tab when you go there, until you stop sharing.",
  yes: "Yes",
  no: "No",
};

const HOST_STYLE = [
  "all: initial", "display: block", "position: fixed", "left: 0", "top: 0", "width: 0", "height: 0",
  "overflow: visible", "z-index: 2147483647",
]
  .map((rule) => `${rule} !important`)
  .join("; ");

const CSS = `
:host { all: initial; }
.backdrop { position: fixed; inset: 0; background: rgba(27, 36, 48, .45); display: flex; align-items: center;
  justify-content: center; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b2430; }
.dialog { background: #fff; border-radius: 10px; box-shadow: 0 8px 32px rgba(0,0,0,.3); max-width: 420px;
  margin: 16px; padding: 20px 22px; }
h2 { font-size: 17px; margin: 0 0 10px; overflow-wrap: anywhere; }
p { margin: 0 0 12px; }
.buttons { display: flex; gap: 10px; justify-content: flex-end; margin-top: 16px; }
button { font: inherit; cursor: pointer; border: 0; border-radius: 6px; padding: 8px 16px; }
.yes { background: #1f6feb; color: #fff; }
.no { background: #eaeef2; color: #1b2430; }
`;

export class CrossDomainPrompt {
  private host: HTMLElement | null = null;
  private answer: ((yes: boolean) => void) | null = null;

  get open(): boolean {
    return this.host !== null;
  }

  /** Shows the question about `destination` (a host, or null: the trusted domains in general). */
  ask(destination: string | null, answer: (yes: boolean) => void): void {
    this.close(false);
    if (!document.body) {
      document.addEventListener("DOMContentLoaded", () => this.ask(destination, answer), { once: true });
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
    dialog.setAttribute("aria-labelledby", "glance-xd-title");
    const title = document.createElement("h2");
    title.id = "glance-xd-title";
    title.textContent = TEXT.title(destination);
    const body = document.createElement("p");
    body.textContent = TEXT.body;
    const buttons = document.createElement("div");
    buttons.className = "buttons";
    const no = this.button("no", TEXT.no, () => this.close(false));
    const yes = this.button("yes", TEXT.yes, () => this.close(true));
    buttons.append(no, yes);
    dialog.append(title, body, buttons);
    backdrop.appendChild(dialog);
    backdrop.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close(false);
    });
    root.append(style, backdrop);
    document.body.appendChild(host);
    this.host = host;
    this.answer = answer;
    yes.focus();
  }

  /** Closes the question with this answer (No when the session ends or another prompt replaces it). */
  close(yes: boolean): void {
    const host = this.host;
    const answer = this.answer;
    this.host = null;
    this.answer = null;
    host?.remove();
    answer?.(yes);
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
