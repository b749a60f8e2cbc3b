/**
 * Page masking by URL: the group's allow and deny lists (docs/masking.md).
 *
 * The rule is stated once more in Python (src/cobrowse/protocol/masking.py) and both must agree: a page is
 * masked if its full URL matches a deny pattern, or the allow list is not empty and the URL matches none of
 * it (deny wins). A pattern is a glob in which `*` matches any run of characters (`/` included) and every
 * other character is literal, matched against the whole URL (so `https://shop.example/*` does not match
 * `https://shop.example.evil/`).
 */

import type { MaskingPages } from "../../shared/protocol";

const cache = new Map<string, RegExp>();

function compile(pattern: string): RegExp {
  let regex = cache.get(pattern);
  if (!regex) {
    const body = pattern
      .split("*")
      .map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, "\\$&"))
      .join("[\\s\\S]*");
    regex = new RegExp(`^${body}$`);
    if (cache.size > 500) cache.clear();
    cache.set(pattern, regex);
  }
  return regex;
}

/** True if `url` matches the glob `pattern` as a whole. */
export function globMatches(pattern: string, url: string): boolean {
  return compile(pattern).test(url);
}

/** Whether the group's URL lists mask the page at `url`. Malformed lists mask (fail closed). */
export function pageMaskedByUrl(pages: MaskingPages | undefined, url: string): boolean {
  if (!pages) return false;
  const deny = Array.isArray(pages.deny) ? pages.deny : [];
  const allow = Array.isArray(pages.allow) ? pages.allow : [];
  if (!Array.isArray(pages.deny) && pages.deny !== undefined) return true;
  if (!Array.isArray(pages.allow) && pages.allow !== undefined) return true;
  if (deny.some((p) => typeof p !== "string" || globMatches(p, url))) return true;
  return allow.length > 0 && !allow.some((p) => typeof p === "string" && globMatches(p, url));
}
