/**
 * Masking for one visitor page: when to ask the hook, which rules apply, and what the recorder and the
 * outbox may do under them (docs/masking.md).
 *
 * - Nothing of a page is recorded before its rules are known: when the session goes live on a page, the hook
 *   is asked first (params.agents undefined at session start; on a later page the agents last seen in this tab)
 *   and recording starts only with its answer. A page without a hook goes on at once with the group's rules.
 * - The hook is asked again whenever the agents change. If the effective rules differ, what is pending is
 *   dropped and a full update follows: recording restarts with the new rules (new node ids, a new epoch), or a
 *   masked page's frame. Unchanged rules send nothing.
 * - When an element becomes masked or unmasked under running rules (watch.ts), recording restarts the same way
 *   (at most every RESTART_GAP_MS; until then the sanitizer and the guard keep it masked).
 * - Any error (hook, descriptor, selectors, group configuration, guard) masks the whole page and fires
 *   `maskingerror` {reason} and `error` {code: "maskingerror", msg}.
 */

import type { AgentsInfo, MaskingConfig } from "../../shared/protocol";
import type { Capture, CaptureMasking } from "../capture";
import type { Emitter, VisitorEventMap } from "../events";
import type { Outbox } from "../outbox";
import { Guard } from "./guard";
import { callHook, captureHook, type HookResult, type MaskingHook } from "./hook";
import { pageMaskedByUrl } from "./pages";
import { MaskRules } from "./rules";
import { sanitizeEvent } from "./sanitize";
import { MaskScope } from "./scope";
import { MaskWatcher } from "./watch";

/** Least time between two restarts caused by elements changing (a page toggling a class must not thrash). */
const RESTART_GAP_MS = 200;
/** Where a tab remembers the last agents list, so that the next page's first hook call knows who watches. */
const AGENTS_KEY = "glance_cobrowse_masking_agents";

type State = "off" | "pending" | "recording" | "masked";

export interface MaskingDeps {
  settings: Record<string, unknown>;
  capture: Capture;
  outbox: Outbox;
  events: Emitter<VisitorEventMap>;
  /** The session's call id, or null. */
  session(): number | null;
  /** True while the session's socket is live (recording makes sense). */
  live(): boolean;
}

const NO_DESCRIPTOR: HookResult = { ok: true, descriptor: { maskedelements: [] } };

export class MaskingController {
  private readonly hook: MaskingHook | null | string;
  private readonly guard: Guard;
  private readonly watcher: MaskWatcher;
  private state: State = "off";
  private group: MaskingConfig | undefined;
  /** The last answer of the hook on this page (null: not asked yet on this page). */
  private result: HookResult | null = null;
  private rules: MaskRules | null = null;
  private scope: MaskScope | null = null;
  private generation = 0;
  private asking = false;
  private agentsKey: string | undefined;
  private lastRestart = 0;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private appliedUrl = "";

  constructor(private readonly deps: MaskingDeps) {
    // Read once, now: the hook must be defined before the script loads (spec).
    this.hook = captureHook(deps.settings);
    this.guard = new Guard(() => this.scope);
    this.watcher = new MaskWatcher(() => this.requestRestart());
  }

  /** `isPageMasked()`: in session, true while the page is masked or its rules are not known yet. */
  isPageMasked(): boolean {
    return this.state === "pending" || this.state === "masked";
  }

  /**
   * The session is live on this page (`started`, or `resumed` after a page load or a reconnect).
   * The first time on a page the hook is asked; after a reconnect the known rules are applied again.
   */
  sessionLive(group: MaskingConfig | undefined, started: boolean): void {
    this.group = group;
    if (this.result === null) {
      if (this.state === "off") this.state = "pending";
      if (!this.asking) this.ask(started ? undefined : this.rememberedAgents(), true);
      return;
    }
    if (this.asking && this.rules === null) return; // the first answer is still on its way
    this.apply(this.result, { force: true, report: false });
  }

  /** Whether `el`'s content must not reach the agents now (canvas.ts asks before it sends pixels). */
  hides(el: Element): boolean {
    if (this.state !== "recording" || !this.scope) return true;
    return this.scope.isBlocked(el) || this.scope.isMaskedInput(el);
  }

  /** The agents changed (the `agents` message): ask the hook again with them. */
  agentsChanged(agents: AgentsInfo): void {
    this.remember(agents);
    if (this.state === "off" || this.hook === null) return;
    if (JSON.stringify(agents) === this.agentsKey) return;
    this.ask(agents, false);
  }

  /** The server (or the outbox after an overflow) wants a full snapshot. */
  snapshotRequested(): void {
    if (!this.deps.live()) return;
    if (this.state === "masked") this.deps.outbox.pushMasked();
    else if (this.state === "recording" && this.restartTimer !== null) this.restart();
    else if (this.state === "recording") this.deps.capture.snapshot();
  }

  /** The page came back from the back/forward cache: a new page for the hook. */
  newPage(): void {
    this.result = null;
    this.rules = null;
    this.generation += 1;
    this.asking = false;
    this.watcher.stop();
    this.deps.capture.forbid();
    if (this.state !== "off") this.state = "pending";
  }

  /** The session ended: stop everything; the next session asks the hook again. */
  stop(): void {
    this.generation += 1;
    this.asking = false;
    this.result = null;
    this.rules = null;
    this.scope = null;
    this.state = "off";
    this.watcher.stop();
    this.deps.capture.forbid();
    this.clearRestartTimer();
    try {
      sessionStorage.removeItem(AGENTS_KEY);
    } catch {
      // storage blocked
    }
  }

  /**
   * The outbox's last look at a batch of page events (guard.ts), called just before it is sent; returns the
   * parts that may go, or null to send nothing. Changes it decides on are made after the outbox's loop.
   */
  checkBatch(parts: string[], snapshot: boolean): string[] | null {
    if (this.state !== "recording" || !this.rules || !this.result) return null;
    if (location.href !== this.appliedUrl) {
      // A same-document navigation (history API): the URL lists may say otherwise for the new URL.
      if (this.build(this.result).key !== this.rules.key) {
        const result = this.result;
        this.later(() => this.apply(result, { force: false, report: false }));
        return null;
      }
      this.appliedUrl = location.href;
    }
    const verdict = this.guard.check(parts, snapshot);
    if (!verdict.leaked) return verdict.parts;
    const reason = "masked content was about to be sent; it was dropped";
    queueMicrotask(() => this.report(reason)); // site listeners run after the outbox's loop
    if (verdict.maskPage) {
      this.later(() => this.applyRules(MaskRules.failed(reason)));
      return null;
    }
    return verdict.parts;
  }

  /** Runs `change` after the current outbox flush (which must not be re-entered). */
  private later(change: () => void): void {
    const generation = this.generation;
    queueMicrotask(() => {
      if (generation === this.generation && this.state === "recording") change();
    });
  }

  /** The rrweb options and event filter for the current rules (capture.ts). */
  private captureMasking(scope: MaskScope): CaptureMasking {
    return {
      blockSelector: scope.rules.blockSelector,
      maskTextSelector: scope.rules.maskSelector,
      maskInput: (text: string, el: HTMLElement) => (scope.isMaskedInput(el) || scope.isBlocked(el) ? "*".repeat(text.length) : text),
      sanitize: (event) => sanitizeEvent(event, scope),
    };
  }

  private ask(agents: AgentsInfo | undefined, first: boolean): void {
    const generation = ++this.generation;
    this.agentsKey = agents === undefined ? undefined : JSON.stringify(agents);
    if (this.hook === null || typeof this.hook === "string") {
      const result: HookResult = this.hook === null ? NO_DESCRIPTOR : { ok: false, reason: this.hook };
      this.result = result;
      this.apply(result, { force: first, report: true });
      return;
    }
    this.asking = true;
    void callHook(this.hook, agents).then((result) => {
      if (generation !== this.generation) return;
      this.asking = false;
      if (this.state === "off") return;
      this.result = result;
      this.apply(result, { force: first || this.rules === null, report: true });
    });
  }

  private build(result: HookResult): MaskRules {
    const groupProblem = MaskRules.checkGroup(this.group);
    if (groupProblem) return MaskRules.failed(groupProblem);
    if (!result.ok) return MaskRules.failed(result.reason);
    const { maskpage, maskedelements } = result.descriptor;
    const pageMasked = maskpage ?? pageMaskedByUrl(this.group?.pages, location.href);
    return new MaskRules([...(this.group?.selectors ?? []), ...maskedelements], pageMasked);
  }

  private apply(result: HookResult, how: { force: boolean; report: boolean }): void {
    const rules = this.build(result);
    if (rules.reason && how.report) this.report(rules.reason);
    if (!how.force && this.rules && this.rules.key === rules.key && this.rules.reason === rules.reason) return;
    this.applyRules(rules);
  }

  /** Sends the full update for `rules`: a masked page's frame, or a restarted recording. Nothing older. */
  private applyRules(rules: MaskRules): void {
    this.rules = rules;
    this.appliedUrl = location.href;
    this.clearRestartTimer();
    if (!this.deps.live()) {
      this.state = rules.pageMasked ? "masked" : "recording";
      if (rules.pageMasked) this.deps.capture.forbid();
      return; // sent when the session is live again (sessionLive)
    }
    this.deps.outbox.clear();
    if (rules.pageMasked) {
      this.state = "masked";
      this.watcher.stop();
      this.deps.capture.forbid();
      this.scope = null;
      this.deps.outbox.pushMasked();
      return;
    }
    this.state = "recording";
    this.restart();
  }

  private restart(): void {
    const rules = this.rules;
    if (!rules || rules.pageMasked) return;
    this.clearRestartTimer();
    this.lastRestart = Date.now();
    this.deps.outbox.clear();
    this.guard.reset();
    const scope = new MaskScope(rules);
    this.scope = scope;
    this.deps.capture.start(this.captureMasking(scope));
    this.watcher.start(scope);
  }

  private requestRestart(): void {
    if (this.state !== "recording" || !this.deps.live() || this.restartTimer !== null) return;
    const wait = this.lastRestart + RESTART_GAP_MS - Date.now();
    if (wait <= 0) this.restart();
    else this.restartTimer = setTimeout(() => this.restart(), wait);
  }

  private clearRestartTimer(): void {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  private report(reason: string): void {
    this.deps.events.emit("maskingerror", { reason });
    this.deps.events.emit("error", { code: "maskingerror", msg: `cobrowse: masking error: ${reason}` });
  }

  private remember(agents: AgentsInfo): void {
    try {
      sessionStorage.setItem(AGENTS_KEY, JSON.stringify({ session: this.deps.session(), agents }));
    } catch {
      // storage blocked or full: the next page then starts with params.agents undefined
    }
  }

  private rememberedAgents(): AgentsInfo | undefined {
    try {
      const raw = sessionStorage.getItem(AGENTS_KEY);
      const saved = raw ? (JSON.parse(raw) as { session?: unknown; agents?: AgentsInfo }) : null;
      if (saved && saved.session === this.deps.session() && saved.agents && Array.isArray(saved.agents.agentlist)) {
        return saved.agents;
      }
    } catch {
      // unreadable: as if unknown
    }
    return undefined;
  }
}
