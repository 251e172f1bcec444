// Virtual clock and seeded Math.random for chrome://dino.
//
// Injected with Page.addScriptToEvaluateOnNewDocument, so it runs before the page's own
// scripts. The game loop (requestAnimationFrame + performance.now) then advances only
// when rlgames calls __rlClock.tick(ms); obstacles come from a seeded generator.
(() => {
  'use strict';
  if (window.__rlClock) return;

  // mulberry32: a small 32-bit generator, enough for a game's dice.
  let rngState = 0;
  const random = () => {
    rngState = (rngState + 0x6d2b79f5) | 0;
    let t = rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  let now = 0;
  let nextId = 1;
  let queue = new Map();

  const clock = {
    /** Virtual milliseconds since the page started. */
    now: () => now,
    /** Seed Math.random (an unsigned 32-bit integer). */
    seed(s) {
      rngState = s | 0;
    },
    /** Advance the clock by ms and run the animation-frame callbacks queued before. */
    tick(ms) {
      now += ms;
      const due = queue;
      queue = new Map();
      for (const cb of due.values()) cb(now);
    },
    /** Everything tick() depends on, to return to later with restore(). */
    snapshot() {
      return { now, nextId, queue: new Map(queue) };
    },
    restore(s) {
      now = s.now;
      nextId = s.nextId;
      queue = new Map(s.queue);
    },
  };

  // The game reads its canvas back every step: ask for a CPU-backed one, which reads fast.
  const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, attributes) {
    if (type === '2d') attributes = Object.assign({ willReadFrequently: true }, attributes);
    return getContext.call(this, type, attributes);
  };

  Object.defineProperty(window, '__rlClock', { value: Object.freeze(clock) });
  Math.random = random;
  performance.now = () => now;
  window.requestAnimationFrame = (cb) => {
    const id = nextId++;
    queue.set(id, cb);
    return id;
  };
  window.cancelAnimationFrame = (id) => {
    queue.delete(id);
  };
})();
