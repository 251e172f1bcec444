// The Dino game as rlgames drives it: start, reset, act, advance, observe.
//
// One small adapter covers both generations of the game's JavaScript: the TypeScript port
// (Runner.getInstance(), per-instance lowerCamelCase config) and the older offline.js
// (Runner.instance_, shared UPPER_CASE Runner.config). Needs clock.js and frame.js first.
(() => {
  'use strict';
  const FRAME_MS = 1000 / 60;
  const OBSTACLE_CODES = {
    cactusSmall: 1, CACTUS_SMALL: 1, cactusLarge: 2, CACTUS_LARGE: 2, pterodactyl: 3, PTERODACTYL: 3,
  };

  function findRunner() {
    if (typeof Runner === 'undefined') return null;
    if (typeof Runner.getInstance === 'function') {
      try {
        return Runner.getInstance();
      } catch (e) {
        return null; // not created yet
      }
    }
    return Runner.instance_ || null;
  }

  /** The config key this generation uses: lowerCamelCase now, UPPER_CASE before. */
  function key(config, lower, upper) {
    return lower in config ? lower : upper;
  }

  function obstacleTypes(r) {
    const lists = [];
    if (r.horizon && Array.isArray(r.horizon.obstacleTypes)) lists.push(r.horizon.obstacleTypes);
    if (typeof Obstacle !== 'undefined' && Array.isArray(Obstacle.types)) lists.push(Obstacle.types);
    return lists.flat();
  }

  // A copy of every plain field reachable from the runner, to return to on each reset.
  // Objects owned by the browser (DOM nodes, canvas contexts, images, audio) are kept by
  // reference: the canvas is redrawn from these fields on every frame.
  function opaque(v) {
    return (typeof EventTarget !== 'undefined' && v instanceof EventTarget) ||
      v instanceof CanvasRenderingContext2D || ArrayBuffer.isView(v) ||
      v instanceof ArrayBuffer || v instanceof Map || v instanceof Set ||
      v instanceof WeakMap || v instanceof Promise || Object.isFrozen(v);
  }

  function snapshot(root) {
    const saved = new Map();
    const stack = [root];
    while (stack.length) {
      const obj = stack.pop();
      if (saved.has(obj)) continue;
      const fields = Array.isArray(obj) ? obj.slice() : Object.keys(obj).map((k) => [k, obj[k]]);
      saved.set(obj, fields);
      const values = Array.isArray(obj) ? fields : fields.map((f) => f[1]);
      for (const v of values) {
        if (v !== null && typeof v === 'object' && !opaque(v) && !saved.has(v)) stack.push(v);
      }
    }
    return saved;
  }

  function restore(saved) {
    for (const [obj, fields] of saved) {
      if (Array.isArray(obj)) {
        obj.length = 0;
        for (const v of fields) obj.push(v);
        continue;
      }
      const keep = new Set();
      for (const [k, v] of fields) {
        keep.add(k);
        if (obj[k] !== v) obj[k] = v;
      }
      for (const k of Object.keys(obj)) if (!keep.has(k)) delete obj[k];
    }
  }

  class DinoGame {
    constructor(options) {
      const r = findRunner();
      if (!r || !r.tRex || !r.horizon || !r.canvas) throw new Error('the game is not loaded yet');
      this.r = r;
      this.applyRules(options);
      this.startWithoutIntro();
      this.frame = new __rlFrame.Frame(r.canvas);
      this.saved = snapshot(r);
      this.savedClock = __rlClock.snapshot();
      this.previous = 0;
      this.frames = 0;
    }

    applyRules({ acceleration, maxSpeed, birds, hidden }) {
      // Headless, nobody looks at the page: not painting it saves the compositor's work.
      if (hidden) this.r.outerContainerEl.style.display = 'none';
      const c = this.r.config;
      if (!acceleration) c[key(c, 'acceleration', 'ACCELERATION')] = 0;
      if (maxSpeed !== null) c[key(c, 'maxSpeed', 'MAX_SPEED')] = maxSpeed;
      if (!birds) {
        for (const t of obstacleTypes(this.r)) {
          if (OBSTACLE_CODES[t.type] === 3) t.minSpeed = Infinity;
        }
      }
    }

    // What the first jump key press does, minus the 0.4 s CSS intro that runs in real time.
    startWithoutIntro() {
      const r = this.r;
      r.onVisibilityChange = () => {}; // a blurred headless window must not pause the game
      // Nor may a resized window: the game would re-lay itself out, and stop, on a real-time
      // timer. The canvas keeps the size it was created with.
      r.adjustDimensions = () => {
        clearInterval(r.resizeTimerId);
        r.resizeTimerId = undefined;
      };
      if (!r.activated) {
        r.playIntro();
        r.startGame();
      }
      const t = r.tRex;
      const tc = t.config;
      // Where the intro would have walked the dino to (reset() keeps x in older versions).
      t.xInitialPos = tc[key(tc, 'startXPos', 'START_X_POS')];
      t.reset();
      t.xPos = t.xInitialPos;
      if (!r.updatePending) r.scheduleNextUpdate();
    }

    /** Back to the first frame of a game, with Math.random seeded; returns the first step. */
    reset(seed, obs) {
      restore(this.saved);
      __rlClock.restore(this.savedClock);
      __rlClock.seed(seed);
      this.previous = 0;
      this.frames = 0;
      return this.step(0, 1, obs);
    }

    // The action is the key held during the step: 0 none, 1 jump (up), 2 duck (down).
    act(action) {
      const t = this.r.tRex;
      if (this.previous === 2 && action !== 2) {
        t.speedDrop = false;
        t.setDuck(false);
      }
      if (this.previous === 1 && action !== 1) t.endJump();
      if (action === 1 && !t.jumping && !t.ducking) t.startJump(this.r.currentSpeed);
      if (action === 2) {
        if (t.jumping) t.setSpeedDrop();
        else if (!t.ducking) t.setDuck(true);
      }
      this.previous = action;
    }

    /** Apply the action, run `frames` frames of 1000/60 ms, and report (obs per `obs`). */
    step(action, frames, obs) {
      const r = this.r;
      if (!r.crashed) this.act(action);
      for (let i = 0; i < frames && !r.crashed; i++) {
        if (i === frames - 1) this.frame.damage.begin(); // only the last frame is observed
        __rlClock.tick(FRAME_MS);
        this.frames++;
      }
      this.frame.damage.end();
      const out = {
        crashed: !!r.crashed,
        score: r.distanceMeter.getActualDistance(Math.ceil(r.distanceRan)),
        speed: r.currentSpeed,
        frame: this.frames,
      };
      if (obs.kind === 'rgb') out.pixels = __rlFrame.encode(this.frame.readRGB());
      else if (obs.kind === 'grayscale') {
        const px = obs.h === this.frame.height && obs.w === this.frame.width ?
          this.frame.readGray() : this.frame.readGraySmall(obs.h, obs.w);
        out.pixels = __rlFrame.encode(px);
      }
      else if (obs.kind === 'state') out.state = this.state();
      return out;
    }

    /** Canvas composited on white, H x W x 3, base64 (for render()). */
    rgb() {
      return __rlFrame.encode(this.frame.readRGB());
    }

    // Dino height and vertical speed (up is positive), jumping, ducking, speed; then type,
    // x (from the dino), y, width and height of the next two obstacles not yet passed.
    state() {
      const r = this.r;
      const t = r.tRex;
      const W = this.frame.width;
      const H = this.frame.height;
      const s = [
        (t.groundYPos - t.yPos) / H, -t.jumpVelocity / 10, t.jumping ? 1 : 0,
        t.ducking ? 1 : 0, r.currentSpeed / 13,
      ];
      const ahead = r.horizon.obstacles.filter((o) => o.xPos + o.width > t.xPos).slice(0, 2);
      for (let i = 0; i < 2; i++) {
        const o = ahead[i];
        if (!o) {
          s.push(0, 1, 0, 0, 0);
          continue;
        }
        const height = o.typeConfig.height;
        s.push(
          (OBSTACLE_CODES[o.typeConfig.type] || 0) / 3, (o.xPos - t.xPos) / W, o.yPos / H,
          o.width / W, height / H);
      }
      return s;
    }
  }

  window.__rlDino = {
    /** Whether the clock is ours and the game has drawn its first frame. */
    ready: () => {
      const r = findRunner();
      return typeof __rlClock !== 'undefined' && !!(r && r.tRex && r.horizon && r.canvas);
    },
    canvasSize: () => {
      const c = findRunner().canvas;
      return [c.height, c.width];
    },
    start(options) {
      window.__rlGame = new DinoGame(options);
      return window.__rlDino.canvasSize();
    },
  };
})();
