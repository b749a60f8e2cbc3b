/**
 * What the visitor sees of remote control: a banner while an agent has control ("NAME is controlling your
 * page" with a Stop button), the agent's pointer (an arrow with the agent's name) where the agent last pointed
 * or clicked, and, in the default UI, the prompt that answers an agent's request (Allow / Deny).
 *
 * The banner and its Stop button are shown whatever the UI mode (`data-ui="none"` too): the visitor must
 * always see that someone else drives the page and be able to stop it. The prompt is the default UI's; a custom
 * UI answers `rcrequested` itself (remote-control.ts).
 *
 * Like the default UI and the terms dialog, everything lives in a closed shadow root under a
 * `glance-cobrowse-ui` host, which capture blocks and cuts out of every event (exclude.ts): none of it reaches
 * the agents, site CSS cannot restyle it and site scripts cannot reach into it. The pointer lets every pointer
 * event through to the page. The host exists only while something is shown.
 */

import { UI_HOST_TAG } from "./ui";

export interface RcUiModel {
  /** The visitor pressed Stop on the banner. */
  stop(): void;
}

const TEXT = {
  controlling: (name: string | null) => `${name ?? "The agent"} is controlling your page`,
  suspended: "(paused while you use the page)",
  stop: "Stop",
  stopLabel: "Stop remote control",
  asks: (name: string) => `Agent ${name || "(unnamed)"} asks to control your page.`,
  explain: "The agent will be able to click and type on this page. You can stop it at any time.",
  allow: "Allow",
  deny: "Deny",
};

const HOST_STYLE = [
  "all: initial", "display: block", "position: fixed", "left: 0", "top: 0", "width: 0", "height: 0",
  "overflow: visible", "z-index: 2147483647",
]
  .map((rule) => `${rule} !important`)
  .join("; ");

const CSS = `
:host { all: initial; }
div, span, button, p { box-sizing: border-box; }
.banner, .prompt { font: 14px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b2430; }
.banner { position: fixed; top: 8px; left: 50vw; transform: translateX(-50%); display: flex; align-items: center;
  gap: 12px; padding: 8px 10px 8px 14px; background: #fff4d6; border: 2px solid #bf8700; border-radius: 8px;
  box-shadow: 0 2px 12px rgba(0,0,0,.25); white-space: nowrap; }
.banner .state { color: #6e5200; font-size: 12px; }
button { font: inherit; cursor: pointer; border: 0; border-radius: 6px; padding: 6px 12px; }
.stop { background: #cf222e; color: #fff; font-weight: 600; }
.pointer { position: fixed; left: 0; top: 0; pointer-events: none; }
.pointer svg { display: block; filter: drop-shadow(0 1px 2px rgba(0,0,0,.4)); }
.pointer .name { position: absolute; left: 16px; top: 18px; padding: 1px 6px; border-radius: 4px; background: #bf8700;
  color: #fff; font: 12px/1.4 system-ui, sans-serif; white-space: nowrap; }
.prompt { position: fixed; right: 16px; top: 16px; max-width: 360px; padding: 16px 18px; background: #fff;
  border: 1px solid #d0d7de; border-radius: 10px; box-shadow: 0 8px 32px rgba(0,0,0,.3); }
.prompt p { margin: 0 0 8px; }
.prompt .buttons { display: flex; gap: 10px; justify-content: flex-end; margin-top: 12px; }
.allow { background: #1f6feb; color: #fff; }
.deny { background: #eaeef2; color: #1b2430; }
`;

const SVG = "http://www.w3.org/2000/svg";

export class RcUi {
  private host: HTMLElement | null = null;
  private root: ShadowRoot | null = null;
  private banner: HTMLElement | null = null;
  private pointerEl: HTMLElement | null = null;
  private promptEl: HTMLElement | null = null;

  constructor(private readonly model: RcUiModel) {}

  /** True if `event` happened on one of the SDK's own UI hosts (the visitor using our UI, not the page). */
  static isOwn(event: Event): boolean {
    const target = event.target;
    return target instanceof Element && target.localName === UI_HOST_TAG;
  }

  /** Shows (or updates) the banner: who controls the page, and whether the visitor's input paused it. */
  showBanner(name: string | null, suspended: boolean): void {
    const root = this.mount();
    if (!root) return;
    if (!this.banner) {
      const banner = this.element("div", "banner", "");
      banner.setAttribute("role", "status");
      const stop = this.element("button", "stop", TEXT.stop) as HTMLButtonElement;
      stop.type = "button";
      stop.setAttribute("aria-label", TEXT.stopLabel);
      stop.addEventListener("click", () => this.model.stop());
      banner.append(this.element("span", "who", ""), this.element("span", "state", ""), stop);
      root.appendChild(banner);
      this.banner = banner;
    }
    (this.banner.querySelector(".who") as HTMLElement).textContent = TEXT.controlling(name);
    (this.banner.querySelector(".state") as HTMLElement).textContent = suspended ? TEXT.suspended : "";
  }

  hideBanner(): void {
    this.banner?.remove();
    this.banner = null;
    this.hidePointer();
  }

  /** Draws the agent's pointer with its tip at viewport point (x, y). */
  showPointer(x: number, y: number, name: string | null): void {
    const root = this.mount();
    if (!root) return;
    if (!this.pointerEl) {
      const pointer = this.element("div", "pointer", "");
      pointer.setAttribute("aria-hidden", "true");
      const svg = document.createElementNS(SVG, "svg");
      svg.setAttribute("width", "18");
      svg.setAttribute("height", "22");
      svg.setAttribute("viewBox", "0 0 18 22");
      const arrow = document.createElementNS(SVG, "path");
      arrow.setAttribute("d", "M1 1 L1 18 L5.5 13.8 L8.6 20.6 L11.4 19.3 L8.4 12.7 L14.5 12.4 Z");
      arrow.setAttribute("fill", "#bf8700");
      arrow.setAttribute("stroke", "#fff");
      arrow.setAttribute("stroke-width", "1.5");
      svg.appendChild(arrow);
      pointer.append(svg, this.element("span", "name", ""));
      root.appendChild(pointer);
      this.pointerEl = pointer;
    }
    const label = this.pointerEl.querySelector(".name") as HTMLElement;
    label.textContent = name ?? "";
    label.hidden = !name;
    this.pointerEl.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
  }

  hidePointer(): void {
    this.pointerEl?.remove();
    this.pointerEl = null;
    this.unmountIfEmpty();
  }

  /** The default UI's question; `answer(true)` for Allow. A new prompt replaces the one shown. */
  showPrompt(name: string, answer: (allow: boolean) => void): void {
    this.closePrompt();
    const root = this.mount();
    if (!root) return;
    const prompt = this.element("div", "prompt", "");
    prompt.setAttribute("role", "dialog");
    prompt.setAttribute("aria-label", TEXT.asks(name));
    const buttons = this.element("div", "buttons", "");
    for (const [className, text, allow] of [["deny", TEXT.deny, false], ["allow", TEXT.allow, true]] as const) {
      const button = this.element("button", className, text) as HTMLButtonElement;
      button.type = "button";
      button.addEventListener("click", () => answer(allow));
      buttons.appendChild(button);
    }
    prompt.append(this.element("p", "asks", TEXT.asks(name)), this.element("p", "explain", TEXT.explain), buttons);
    root.appendChild(prompt);
    this.promptEl = prompt;
  }

  closePrompt(): void {
    this.promptEl?.remove();
    this.promptEl = null;
    this.unmountIfEmpty();
  }

  /** Removes everything (the session ended). */
  clear(): void {
    this.banner = null;
    this.pointerEl = null;
    this.promptEl = null;
    this.host?.remove();
    this.host = null;
    this.root = null;
  }

  private mount(): ShadowRoot | null {
    if (this.root) {
      if (this.host && !this.host.isConnected) (document.body ?? document.documentElement).appendChild(this.host);
      return this.root;
    }
    const parent = document.body ?? document.documentElement;
    if (!parent) return null;
    const host = document.createElement(UI_HOST_TAG);
    host.setAttribute("data-no-cobrowse-content", "1");
    host.setAttribute("style", HOST_STYLE);
    const root = host.attachShadow({ mode: "closed" });
    const style = document.createElement("style");
    style.textContent = CSS;
    root.appendChild(style);
    parent.appendChild(host);
    this.host = host;
    this.root = root;
    return root;
  }

  private unmountIfEmpty(): void {
    if (!this.banner && !this.pointerEl && !this.promptEl) this.clear();
  }

  private element(tag: string, className: string, text: string): HTMLElement {
    const el = document.createElement(tag);
    el.className = className;
    el.textContent = text;
    return el;
  }
}
