/**
 * Removes the SDK's own UI host element from rrweb's events, so the agent's copy of the page has no trace
 * of it.
 *
 * Why this on top of blocking: rrweb replaces a blocked element by an empty placeholder of the same tag and
 * size. The host is zero-size and its content lives in a closed shadow root (which rrweb cannot see), so the
 * placeholder would already be invisible; but site CSS such as `body > * { padding: 4px }` could still give
 * it a size in the replay, and it would show up in the agent's DOM. Here it is cut out entirely:
 * from full snapshots, from mutation adds, removes and attribute changes; and a node added just before the
 * host is given the host's next sibling as its `nextId`, which the replayer can resolve.
 */

import type { eventWithTime, serializedNodeWithId } from "@rrweb/types";

const FULL_SNAPSHOT = 2;
const INCREMENTAL = 3;
const MUTATION_SOURCE = 0;

interface NodeLike {
  id: number;
  type: number;
  tagName?: string;
  childNodes?: NodeLike[];
}

interface MutationLike {
  source: number;
  adds: { parentId: number; nextId: number | null; node: serializedNodeWithId }[];
  removes: { id: number }[];
  attributes: { id: number }[];
}

export class HostExcluder {
  private readonly ids = new Set<number>();

  /**
   * @param tagName lower-case tag name of the UI host (unique to the SDK)
   * @param nextIdOf the rrweb id of the first recorded sibling after the host, or null
   */
  constructor(
    private readonly tagName: string,
    private readonly nextIdOf: () => number | null,
  ) {}

  /** Returns the event with the host removed (the event object is modified in place). */
  process(event: eventWithTime): eventWithTime {
    if (event.type === FULL_SNAPSHOT) {
      this.ids.clear();
      this.prune((event.data as { node: NodeLike }).node);
    } else if (event.type === INCREMENTAL && (event.data as { source: number }).source === MUTATION_SOURCE) {
      this.mutation(event.data as unknown as MutationLike);
    }
    return event;
  }

  private isHost(node: NodeLike): boolean {
    return node.type === 2 && node.tagName === this.tagName;
  }

  private prune(node: NodeLike): void {
    if (!node.childNodes) return;
    node.childNodes = node.childNodes.filter((child) => {
      if (this.isHost(child)) {
        this.ids.add(child.id);
        return false;
      }
      this.prune(child);
      return true;
    });
  }

  private mutation(data: MutationLike): void {
    data.adds = data.adds.filter((add) => {
      const node = add.node as unknown as NodeLike;
      if (this.isHost(node)) {
        this.ids.add(node.id);
        return false;
      }
      this.prune(node);
      return !this.ids.has(add.parentId);
    });
    if (this.ids.size === 0) return;
    for (const add of data.adds) {
      if (add.nextId !== null && this.ids.has(add.nextId)) add.nextId = this.nextIdOf();
    }
    data.removes = data.removes.filter((r) => !this.ids.has(r.id));
    data.attributes = data.attributes.filter((a) => !this.ids.has(a.id));
  }
}
