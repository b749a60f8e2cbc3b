/**
 * Sanitises the visitor's pause message (HTML from the visitor's page) for display in the console.
 *
 * The message comes from an untrusted page and is shown in the console's own document, so it is never
 * assigned as HTML. It is parsed with DOMParser into an inert document (no browsing context: nothing in it
 * runs, loads or fetches), and a new tree is built in the console's document from an allow-list:
 * - allowed elements (ALLOWED) are recreated with no attributes at all (no handlers, no styles, no URLs, no
 *   ids or classes that could pick up or spoof console styles); an `<a>` keeps its text but never an href;
 * - dropped elements (DROPPED: scripts, styles, images, media, frames, forms, SVG, ...) go with their content;
 * - any other element is unwrapped: its children are kept, the element is not;
 * - text is copied as text; comments and everything else are dropped.
 * Bounded: at most MAX_NODES nodes and MAX_DEPTH levels are copied; the rest is cut off.
 */

const ALLOWED = new Set([
  "p", "b", "i", "u", "s", "em", "strong", "small", "mark", "sub", "sup", "br", "hr", "div", "span",
  "ul", "ol", "li", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "a",
  "table", "thead", "tbody", "tr", "th", "td", "caption",
]);

const DROPPED = new Set([
  "script", "style", "template", "noscript", "iframe", "frame", "frameset", "object", "embed", "applet",
  "img", "picture", "source", "video", "audio", "track", "canvas", "svg", "math", "link", "meta", "base",
  "title", "head", "form", "input", "button", "select", "option", "textarea", "label", "fieldset", "dialog",
  "portal", "slot", "image",
]);

export const MAX_NODES = 2000;
export const MAX_DEPTH = 32;

/** The message as a fragment of safe console-document nodes. */
export function sanitizeHtml(html: string, into: Document = document): DocumentFragment {
  const parsed = new DOMParser().parseFromString(html, "text/html");
  const out = into.createDocumentFragment();
  let budget = MAX_NODES;

  function copyChildren(from: Node, to: Node, depth: number): void {
    for (let child = from.firstChild; child && budget > 0; child = child.nextSibling) {
      if (child.nodeType === Node.TEXT_NODE) {
        budget--;
        to.appendChild(into.createTextNode(child.nodeValue ?? ""));
      } else if (child.nodeType === Node.ELEMENT_NODE) {
        const tag = (child as Element).localName.toLowerCase();
        const html = (child as Element).namespaceURI === "http://www.w3.org/1999/xhtml";
        if (!html || DROPPED.has(tag)) continue;
        if (depth >= MAX_DEPTH) continue;
        if (ALLOWED.has(tag)) {
          budget--;
          const el = into.createElement(tag);
          to.appendChild(el);
          copyChildren(child, el, depth + 1);
        } else {
          copyChildren(child, to, depth + 1);
        }
      }
    }
  }

  copyChildren(parsed.body, out, 0);
  return out;
}
