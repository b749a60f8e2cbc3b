/**
 * The default visitor UI: a small "Share my screen" button (bottom right) and, in session, a bar with the
 * session key (to read out to the agent) and a Stop button. `data-ui="none"` turns it off for sites with
 * their own UI built on the visitor API.
 *
 * Isolation, both ways:
 * - from the site: everything lives in a closed shadow root under one host element whose inline styles are
 *   `!important`, so site CSS neither restyles the UI nor sees its elements;
 * - from the agent: the host is blocked for rrweb and cut out of every event (exclude.ts), and being a
 *   closed shadow root rrweb cannot even see its content, so the key and the buttons never reach the agent.
 *   The host is fixed and zero-size; its content overflows it, positioned against the viewport corner.
 * The widget's state is a class on the button: `not_in_session`, `session_starting` or `in_session`.
 */

export const UI_HOST_TAG = "glance-cobrowse-ui";

export type UiState = "not_in_session" | "session_starting" | "in_session";

export interface UiModel {
  state(): UiState;
  key(): string | null;
  start(): void;
  stop(): void;
}

/** Texts by key, so later issues can add languages (chosen from `<html lang>`, then the browser). */
const TEXT = {
  share: "Share my screen",
  starting: "Starting…",
  sharing: "You are sharing your screen",
  key: "Session key",
  stop: "Stop",
};

const HOST_STYLE = [
  "all: initial",
  "display: block",
  "position: fixed",
  "right: 0",
  "bottom: 0",
  "width: 0",
  "height: 0",
  "margin: 0",
  "padding: 0",
  "border: 0",
  "overflow: visible",
  "z-index: 2147483647",
]
  .map((rule) => `${rule} !important`)
  .join("; ");

const CSS = `
:host { all: initial; }
.ui { position: absolute; right: 16px; bottom: 16px; font: 14px/1.3 system-ui, -apple-system, "Segoe UI",
  Roboto, sans-serif; color: #1b2430; }
button { font: inherit; cursor: pointer; border: 0; border-radius: 6px; }
.button { display: block; padding: 10px 16px; background: #1f6feb; color: #fff;
  box-shadow: 0 2px 8px rgba(0,0,0,.25); white-space: nowrap; }
.button:hover { background: #1a5fd0; }
.button.session_starting { background: #6e7781; cursor: progress; }
.button.in_session, .ui.hidden .button.not_in_session { display: none; }
.bar { display: none; align-items: center; gap: 12px; padding: 8px 10px 8px 14px; background: #fff;
  border: 1px solid #d0d7de; border-radius: 8px; box-shadow: 0 2px 12px rgba(0,0,0,.2); white-space: nowrap; }
.ui.in_session .bar { display: flex; }
.key { font-weight: 700; font-size: 16px; letter-spacing: .05em; }
.stop { padding: 6px 12px; background: #cf222e; color: #fff; }
.stop:hover { background: #a40e26; }
`;

export class DefaultUI {
  private host: HTMLElement | null = null;
  private wrapper: HTMLDivElement | null = null;
  private button: HTMLButtonElement | null = null;
  private keyText: HTMLElement | null = null;
  private buttonShown = true;
  private readonly mounted: Promise<void>;
  private resolveMounted: () => void = () => undefined;

  constructor(private readonly model: UiModel) {
    this.mounted = new Promise((resolve) => {
      this.resolveMounted = resolve;
    });
  }

  /** Resolves once the UI is in the page. */
  ready(): Promise<void> {
    return this.mounted;
  }

  /** Adds the UI to the page (at once, or when `<body>` exists). */
  mount(): void {
    if (document.body) this.build();
    else document.addEventListener("DOMContentLoaded", () => this.build(), { once: true });
  }

  /** Shows or hides the "Share my screen" button; the in-session bar stays, it is how the visitor stops. */
  showButton(show: boolean): void {
    this.buttonShown = show !== false;
    this.render();
  }

  toggleButton(): void {
    this.showButton(!this.buttonShown);
  }

  /** Brings the UI up to date with the session; called on every session event. */
  render(): void {
    if (!this.wrapper || !this.button || !this.keyText) return;
    const state = this.model.state();
    this.wrapper.className = `ui ${state}${this.buttonShown ? "" : " hidden"}`;
    this.button.className = `button ${state}`;
    this.button.textContent = state === "session_starting" ? TEXT.starting : TEXT.share;
    this.button.disabled = state !== "not_in_session";
    this.keyText.textContent = this.model.key() ?? "";
  }

  private build(): void {
    if (this.host) return;
    const host = document.createElement(UI_HOST_TAG);
    host.setAttribute("data-no-cobrowse-content", "1");
    host.setAttribute("style", HOST_STYLE);
    const root = host.attachShadow({ mode: "closed" });
    const style = document.createElement("style");
    style.textContent = CSS;
    const wrapper = document.createElement("div");
    const button = this.element("button", "button", TEXT.share) as HTMLButtonElement;
    button.type = "button";
    button.addEventListener("click", () => this.model.start());
    const bar = this.element("div", "bar", "");
    bar.setAttribute("role", "status");
    const label = this.element("span", "label", TEXT.sharing);
    const keyLine = this.element("span", "keyline", `${TEXT.key}: `);
    const keyText = this.element("span", "key", "");
    keyLine.appendChild(keyText);
    const stop = this.element("button", "stop", TEXT.stop) as HTMLButtonElement;
    stop.type = "button";
    stop.addEventListener("click", () => this.model.stop());
    bar.append(label, keyLine, stop);
    wrapper.append(button, bar);
    root.append(style, wrapper);
    this.host = host;
    this.wrapper = wrapper;
    this.button = button;
    this.keyText = keyText;
    this.render();
    document.body.appendChild(host);
    this.resolveMounted();
  }

  private element(tag: string, className: string, text: string): HTMLElement {
    const el = document.createElement(tag);
    el.className = className;
    el.textContent = text;
    return el;
  }
}
