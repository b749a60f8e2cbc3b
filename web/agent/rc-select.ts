/**
 * The console's own popup for a `<select>` of the visitor's page under remote control.
 *
 * The replay is a picture: its select cannot open (and a native popup of the console would show the console's
 * options anyway), so a click on a replayed select lists that select's options here, read from the replay DOM
 * (text, value, disabled, which one is selected), under the select's box on screen. Choosing one sends
 * `select` {index, value}. A masked select is an rrweb placeholder with nothing inside: no options, no popup.
 *
 * Option texts come from the visitor's page: set with `textContent`, never parsed as HTML. The popup is a
 * listbox of buttons: arrows move, Enter or a click chooses, Escape, Tab or a click elsewhere closes.
 */

/** One option of a replayed select. */
export interface SelectOption {
  index: number;
  text: string;
  value: string;
  disabled: boolean;
  selected: boolean;
}

/** The select element (or the select around an option) of the replay, or null. Another realm: no instanceof. */
export function replaySelect(el: Element): Element | null {
  return el.closest("select");
}

/** The options of a replayed select, in the order of its `options` (option groups included). */
export function readOptions(select: Element): SelectOption[] {
  const options = Array.from(select.querySelectorAll("option"));
  return options.map((option, index) => {
    const o = option as unknown as { selected?: boolean; disabled?: boolean; value?: string };
    const group = option.parentElement?.localName === "optgroup" ? option.parentElement : null;
    return {
      index,
      text: (option.textContent ?? "").replace(/\s+/g, " ").trim(),
      value: typeof o.value === "string" ? o.value : (option.getAttribute("value") ?? ""),
      disabled: o.disabled === true || group?.hasAttribute("disabled") === true,
      selected: o.selected === true,
    };
  });
}

export class SelectPopup {
  readonly element: HTMLDivElement;
  private onChoose: ((option: SelectOption) => void) | null = null;
  private onClose: (() => void) | null = null;
  private readonly outside = (ev: Event): void => {
    if (!this.element.contains(ev.target as Node)) this.close();
  };

  constructor() {
    this.element = document.createElement("div");
    this.element.className = "cb-rc-select";
    this.element.id = "cb-rc-select";
    this.element.setAttribute("role", "listbox");
    this.element.hidden = true;
    Object.assign(this.element.style, { position: "fixed", zIndex: "1000", overflowY: "auto" });
    this.element.addEventListener("keydown", (ev) => this.onKey(ev));
    document.body.appendChild(this.element);
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  /** Lists `options` under `anchor` (client coordinates); `choose` gets the one picked, `closed` any close. */
  open(anchor: DOMRect, options: SelectOption[], choose: (option: SelectOption) => void, closed: () => void): void {
    this.close();
    this.onChoose = choose;
    this.onClose = closed;
    const buttons = options.map((option) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "cb-rc-option";
      b.setAttribute("role", "option");
      b.setAttribute("aria-selected", String(option.selected));
      b.dataset.index = String(option.index);
      b.dataset.value = option.value;
      b.textContent = option.text || "\u00a0";
      b.disabled = option.disabled;
      b.addEventListener("click", () => {
        const pick = this.onChoose;
        this.onChoose = null;
        this.close();
        pick?.(option);
      });
      return b;
    });
    this.element.replaceChildren(...buttons);
    const below = window.innerHeight - anchor.bottom;
    const maxHeight = Math.max(120, Math.min(320, Math.max(below, anchor.top) - 8));
    Object.assign(this.element.style, {
      left: `${Math.max(0, Math.min(anchor.left, window.innerWidth - anchor.width))}px`,
      minWidth: `${Math.max(anchor.width, 120)}px`,
      maxHeight: `${maxHeight}px`,
      top: below >= Math.min(maxHeight, 160) ? `${anchor.bottom}px` : "",
      bottom: below >= Math.min(maxHeight, 160) ? "" : `${window.innerHeight - anchor.top}px`,
    });
    this.element.hidden = false;
    const selected = buttons.find((b, i) => options[i].selected && !b.disabled) ?? buttons.find((b) => !b.disabled);
    selected?.focus();
    document.addEventListener("mousedown", this.outside, true);
  }

  close(): void {
    if (this.element.hidden) return;
    this.element.hidden = true;
    this.element.replaceChildren();
    document.removeEventListener("mousedown", this.outside, true);
    this.onChoose = null;
    const closed = this.onClose;
    this.onClose = null;
    closed?.();
  }

  private onKey(ev: KeyboardEvent): void {
    const buttons = Array.from(this.element.querySelectorAll<HTMLButtonElement>("button:not(:disabled)"));
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    let next = -1;
    if (ev.key === "ArrowDown") next = Math.min(buttons.length - 1, at + 1);
    else if (ev.key === "ArrowUp") next = Math.max(0, at - 1);
    else if (ev.key === "Home") next = 0;
    else if (ev.key === "End") next = buttons.length - 1;
    else if (ev.key === "Escape" || ev.key === "Tab") {
      ev.preventDefault();
      this.close();
      return;
    } else return;
    ev.preventDefault();
    buttons[next]?.focus();
  }
}
