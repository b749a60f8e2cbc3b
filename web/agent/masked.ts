/**
 * How masking looks in the console: masked elements as a neutral pattern, a masked page as a panel.
 *
 * - A masked element reaches the console as rrweb's empty placeholder of the same tag and size, marked with
 *   the class `rr-block` by the visitor's script. MASKED_STYLE_RULES (injected into every replay document
 *   through the Replayer's `insertStyleRules`) draw it as a grey diagonal-striped box: `box-sizing:
 *   border-box` so the recorded size (the visitor's border box) is the box shown, no site background, text or
 *   `::before`/`::after` content, and `appearance: none` so a masked select or checkbox is a box too.
 *   Masked inputs need nothing: their value arrives as asterisks.
 * - A masked page reaches the console as a `masked: true` snapshot frame with nothing of the page in it: the
 *   replay is cleared and MaskedPanel shows "This page is masked" in the stage until the next unmasked
 *   snapshot. Like the pause cover, the panel belongs to the stage, so pages embedding the console get it too.
 */

export const MASKED_TEXT = "This page is masked";

const STRIPES =
  "repeating-linear-gradient(135deg, #c9ced6 0, #c9ced6 6px, #e4e7ec 6px, #e4e7ec 12px)";

export const MASKED_STYLE_RULES = [
  `.rr-block { background: ${STRIPES} !important; color: transparent !important; box-sizing: border-box !important;` +
    " appearance: none !important; -webkit-appearance: none !important; border-color: #b6bcc6 !important;" +
    " background-clip: border-box !important; text-shadow: none !important;" +
    " min-width: 0 !important; min-height: 0 !important; max-width: none !important; max-height: none !important; }",
  ".rr-block::before, .rr-block::after { content: none !important; display: none !important; }",
];

export class MaskedPanel {
  readonly element: HTMLDivElement;

  constructor(stage: HTMLElement) {
    this.element = document.createElement("div");
    this.element.className = "cb-masked-page";
    this.element.id = "cb-masked-page";
    this.element.setAttribute("role", "status");
    this.element.hidden = true;
    const card = document.createElement("div");
    card.className = "cb-masked-card";
    const title = document.createElement("p");
    title.className = "cb-masked-title";
    title.textContent = MASKED_TEXT;
    const detail = document.createElement("p");
    detail.className = "cb-masked-detail";
    detail.textContent = "The visitor's page is hidden from agents. It shows again when the visitor is on a page that is not masked.";
    card.append(title, detail);
    this.element.appendChild(card);
    stage.appendChild(this.element);
  }

  get shown(): boolean {
    return !this.element.hidden;
  }

  show(masked: boolean): void {
    this.element.hidden = !masked;
  }
}
