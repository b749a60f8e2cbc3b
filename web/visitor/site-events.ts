/**
 * Delivery of visitor events to the site's listeners, held back for a custom UI until it says it is ready.
 *
 * The SDK's own parts (default UI, session state, pause, ...) listen on the internal emitter and hear every
 * event at once. The site's listeners (`Visitor.addEventListener`, `addSessionMessageListener`) are reached
 * through here: with a custom UI (`data-ui="custom"`, or the older `"none"`) the session resumes as soon as
 * the page loads, but what the site would hear is queued until `GLANCE.Cobrowse.Loader.setUIReady()`, then
 * delivered in order, so a custom UI that adds its listeners late misses nothing (`sessioncontinue`,
 * `agents`, a message from the agent, ...). With `"none"` the queue is also released at the window's `load`,
 * so a site written before setUIReady existed still hears its events.
 *
 * Bounded: at most MAX_HELD deliveries wait; past that the oldest is dropped (with a console warning). Only
 * a page that never calls setUIReady gets there, and nobody hears those events anyway.
 */

import { Emitter } from "./events";
import type { VisitorEventMap } from "./events";

export const MAX_HELD = 1000;

export class SiteEvents {
  /** The site's event listeners. */
  readonly emitter = new Emitter<VisitorEventMap>();
  private held: (() => void)[] | null = null;
  private dropped = 0;

  /** True while deliveries are queued. */
  get holding(): boolean {
    return this.held !== null;
  }

  /** Starts queueing deliveries (custom UI not ready yet). */
  hold(): void {
    if (!this.held) this.held = [];
  }

  /** Delivers everything queued, in order, and delivers at once from now on. */
  release(): void {
    const queued = this.held;
    this.held = null;
    if (!queued) return;
    for (const deliver of queued) deliver();
  }

  /** Runs `deliver` now, or queues it while held. */
  deliver(deliver: () => void): void {
    if (!this.held) {
      deliver();
      return;
    }
    if (this.held.length >= MAX_HELD) {
      this.held.shift();
      if (this.dropped++ === 0) {
        console.warn(
          `cobrowse: more than ${MAX_HELD} visitor events are waiting for GLANCE.Cobrowse.Loader.setUIReady(); ` +
            "the oldest are dropped",
        );
      }
    }
    this.held.push(deliver);
  }

  /** Relays one event of the internal emitter to the site's listeners. */
  relay(name: string, payload: unknown): void {
    this.deliver(() => (this.emitter as unknown as Emitter<Record<string, unknown>>).emit(name, payload));
  }
}
