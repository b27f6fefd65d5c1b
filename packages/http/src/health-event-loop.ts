import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Reads how long the event loop was held up: the longest delay (ms) since the previous read. */
export interface EventLoopDelaySampler {
  /** The longest event-loop delay seen since the last call (or since the sampler was made), ms; resets the window. */
  maxSinceLastRead(): number;
  /** Stops sampling. */
  close(): void;
}

/**
 * Samples event-loop delay with Node's `monitorEventLoopDelay` histogram (libuv's timer, no JS timer and nothing that
 * keeps the process alive). Each read returns the worst delay since the previous read, so a loop blocked for seconds
 * between two liveness probes shows on the next one, and only on that one.
 */
export function createEventLoopDelaySampler(resolutionMs = 20): EventLoopDelaySampler {
  const histogram = monitorEventLoopDelay({ resolution: Math.max(1, Math.round(resolutionMs)) });
  histogram.enable();
  return {
    maxSinceLastRead() {
      // The histogram's max is in nanoseconds; an empty one reports 0.
      const max = histogram.count > 0 ? histogram.max / 1e6 : 0;
      histogram.reset();
      return max;
    },
    close: () => histogram.disable(),
  };
}
