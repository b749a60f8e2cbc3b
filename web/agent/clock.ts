/**
 * Maps the visitor's event timestamps onto the agent's clock, so that clock skew never delays the view.
 *
 * rrweb's live replayer schedules each event at `timestamp - baseline` after it started; with the visitor's
 * clock an hour ahead of the agent's, every change would wait an hour (and an hour behind, events would count
 * as "past" and go to the replayer's virtual DOM, which is never flushed in live mode). So each event's time is
 * rewritten on arrival: `visitorTime + offset`, where `offset` is the smallest `agentNow - visitorTime` seen in
 * the epoch (the fastest path; network delay only makes the offset larger). The result never lies in the
 * future (it is at most the arrival time, so the event is due at once), never before the epoch's baseline
 * (never "past"), and never goes backwards (order is kept even if the visitor's clock steps back).
 */

/** The agent's clock in milliseconds: monotonic, on the same scale as `performance.now()`, which rrweb's timer
 * uses to measure elapsed time. */
export function agentNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface Timed {
  timestamp: number;
}

export class EpochClock {
  private minOffset = Number.POSITIVE_INFINITY;
  private last: number;

  /** `baseline` is the agent time at which the epoch's replayer went live. */
  constructor(readonly baseline: number) {
    this.last = baseline;
  }

  /** Rewrite the timestamps of events that arrived at agent time `arrival`, in place. */
  rewrite(events: Timed[], arrival: number): void {
    for (const event of events) {
      const visitorTime = Number(event.timestamp);
      if (!Number.isFinite(visitorTime)) {
        event.timestamp = this.last;
        continue;
      }
      const candidate = arrival - visitorTime;
      if (candidate < this.minOffset) this.minOffset = candidate;
      let time = Math.min(visitorTime + this.minOffset, arrival);
      if (time < this.last) time = this.last;
      this.last = time;
      event.timestamp = time;
    }
  }
}
