/**
 * The console's administration page (/agent/admin, bundled as static/admin.js): agents, their permissions,
 * and the settings and masking rules of the administrator's groups.
 *
 * Everything goes through the REST API (/api/v1) with the console cookie: same-origin fetches, so the
 * server's CSRF check passes them and authorises and audits each change as it would for a token. The page
 * shows data from the server (names, usernames, origins) as text only: the DOM is built with createElement and
 * textContent, never innerHTML.
 */

export {}; // a module: its names stay out of the global scope

const API = "/api/v1";
const PERMISSIONS = ["view", "remote_control", "video", "documents", "invite_guests", "admin"] as const;

interface AgentOut {
  id: number;
  username: string;
  name: string;
  agentrole: string | null;
  groups: number[];
  permissions: string[];
}
interface GroupOut {
  id: number;
  name: string;
}
interface GroupSettings {
  id: number;
  name: string;
  allowed_origins: string[];
  allow_mixed_roles: boolean;
  max_live_sessions: number | null;
}
interface Masking {
  selectors: string[];
  pages: { allow: string[]; deny: string[] };
}

/** A REST call; throws an Error with the server's `detail` when the answer is not 2xx. */
async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(API + path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = (await response.json().catch(() => null)) as { detail?: unknown } | null;
  if (!response.ok) {
    const detail = data?.detail;
    const text = typeof detail === "string" ? detail : detail ? JSON.stringify(detail) : response.statusText;
    throw new Error(`${method} ${path}: ${response.status} ${text}`);
  }
  return data as T;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) node.setAttribute(k, v);
  for (const child of children) node.append(child); // strings become text nodes
  return node;
}

function showStatus(text: string, kind: "ok" | "error" = "ok"): void {
  const box = document.getElementById("adm-status");
  if (!box) return;
  box.textContent = text;
  box.dataset.kind = kind;
}

/** Runs an action and reports its outcome (or its error) in the status line. */
async function attempt(done: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
    showStatus(done);
  } catch (err) {
    showStatus(err instanceof Error ? err.message : String(err), "error");
  }
}

function checkboxes(name: string, checked: readonly string[]): HTMLLabelElement[] {
  return PERMISSIONS.map((perm) => {
    const box = el("input", { type: "checkbox", name, value: perm });
    box.checked = checked.includes(perm);
    return el("label", {}, box, perm);
  });
}

function checkedValues(root: ParentNode, name: string): string[] {
  return [...root.querySelectorAll<HTMLInputElement>(`input[name="${name}"]`)].filter((b) => b.checked).map((b) => b.value);
}

function lines(text: string): string[] {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

function agentRow(agent: AgentOut): HTMLTableRowElement {
  const perms = el("td", {}, ...checkboxes("perm", agent.permissions));
  const save = el("button", { type: "button", class: "btn btn-primary" }, "Save");
  const row = el(
    "tr",
    { "data-username": agent.username },
    el("td", {}, agent.username),
    el("td", {}, agent.name),
    el("td", {}, agent.agentrole ?? "none"),
    el("td", {}, agent.groups.join(", ")),
    perms,
    el("td", {}, save),
  );
  save.addEventListener("click", () => {
    void attempt(`Permissions of ${agent.username} saved.`, () =>
      api("PATCH", `/agents/${agent.id}`, { permissions: checkedValues(perms, "perm") }).then(loadAgents),
    );
  });
  return row;
}

async function loadAgents(): Promise<void> {
  const agents = await api<AgentOut[]>("GET", "/agents");
  const body = document.querySelector("#adm-agents tbody");
  if (body) body.replaceChildren(...agents.map(agentRow));
}

function bindCreateForm(groups: GroupOut[]): void {
  const form = document.getElementById("adm-create") as HTMLFormElement | null;
  if (!form) return;
  const select = form.querySelector<HTMLSelectElement>("select[name=group]");
  select?.replaceChildren(...groups.map((g) => el("option", { value: String(g.id) }, `${g.name} (${g.id})`)));
  form.querySelector("#adm-create-perms")?.append(...checkboxes("perm", ["view", "remote_control"]));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const field = (name: string): string => String(data.get(name) ?? "").trim();
    const username = field("username");
    const body = {
      username,
      name: field("name"),
      password: String(data.get("password") ?? ""),
      groups: [Number(field("group"))],
      agentrole: field("agentrole") || null,
      permissions: checkedValues(form, "perm"),
    };
    void attempt(`Agent ${username} created.`, async () => {
      await api("POST", "/agents", body);
      form.reset();
      await loadAgents();
    });
  });
}

function groupCard(settings: GroupSettings, masking: Masking): HTMLElement {
  const origins = el("textarea", { name: "origins" });
  origins.value = settings.allowed_origins.join("\n");
  const mixed = el("input", { type: "checkbox", name: "mixed" });
  mixed.checked = settings.allow_mixed_roles;
  const max = el("input", { type: "number", name: "max", min: "0", placeholder: "no limit" });
  max.value = settings.max_live_sessions === null ? "" : String(settings.max_live_sessions);
  const selectors = el("textarea", { name: "selectors" });
  selectors.value = masking.selectors.join("\n");
  const allow = el("textarea", { name: "allow" });
  allow.value = masking.pages.allow.join("\n");
  const deny = el("textarea", { name: "deny" });
  deny.value = masking.pages.deny.join("\n");
  const form = el(
    "form",
    { class: "admin-form", "data-group": String(settings.id) },
    el("label", {}, "Allowed site origins (one a line; none: any)", origins),
    el("label", { class: "check" }, mixed, "Agents of different roles may share a session"),
    el("label", {}, "Most live sessions at once (empty: no limit)", max),
    el("label", {}, "Masked elements (CSS selectors, one a line)", selectors),
    el("label", {}, "Only these pages are shown (URL patterns, one a line)", allow),
    el("label", {}, "Masked pages (URL patterns, one a line)", deny),
    el("button", { type: "submit", class: "btn btn-primary" }, "Save group settings"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(`Settings of group ${settings.name} saved.`, async () => {
      await api("PATCH", `/groups/${settings.id}/settings`, {
        allowed_origins: lines(origins.value),
        allow_mixed_roles: mixed.checked,
        max_live_sessions: max.value.trim() === "" ? 0 : Number(max.value),
      });
      await api("PUT", `/groups/${settings.id}/masking`, {
        selectors: lines(selectors.value),
        pages: { allow: lines(allow.value), deny: lines(deny.value) },
      });
    });
  });
  return el("div", { class: "card admin-card" }, el("h2", {}, `Group ${settings.name} (${settings.id})`), form);
}

async function loadGroups(groups: GroupOut[]): Promise<void> {
  const cards = await Promise.all(
    groups.map(async (g) => {
      const [settings, masking] = await Promise.all([
        api<GroupSettings>("GET", `/groups/${g.id}/settings`),
        api<Masking>("GET", `/groups/${g.id}/masking`),
      ]);
      return groupCard(settings, masking);
    }),
  );
  document.getElementById("adm-groups")?.replaceChildren(...cards);
}

async function start(): Promise<void> {
  await attempt("", async () => {
    const groups = await api<GroupOut[]>("GET", "/groups");
    bindCreateForm(groups);
    await Promise.all([loadAgents(), loadGroups(groups)]);
    document.body.dataset.ready = "true"; // for tests and automation: the page has loaded its data
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => void start(), { once: true });
else void start();
