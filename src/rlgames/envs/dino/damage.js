// Where the game's canvas may hold pixels, so that only those parts are read back.
//
// Reading the whole 552x150 canvas with getImageData cost ~0.4 ms a step, the largest part of a
// step's time in the page. Each frame of the game starts by clearing the whole canvas; while
// tracking (during the last frame of a step), a full clear empties the list of boxes and each
// drawImage adds its destination box under the current transform, one pixel wider each way.
// Anything else (other drawing calls, shadows, filters, clipping, drawing while not tracking)
// means "read it all", so the boxes never miss a drawn pixel.
(() => {
  'use strict';

  // Canvas context methods that never change pixels: left alone. Every other method (those
  // that draw, and any the browser adds later) is watched.
  const HARMLESS = new Set([
    'constructor', 'save', 'restore', 'translate', 'scale', 'rotate', 'transform',
    'setTransform', 'resetTransform', 'getTransform', 'beginPath', 'closePath', 'moveTo',
    'lineTo', 'arc', 'arcTo', 'ellipse', 'rect', 'roundRect', 'bezierCurveTo',
    'quadraticCurveTo', 'isPointInPath', 'isPointInStroke', 'measureText',
    'createLinearGradient', 'createRadialGradient', 'createConicGradient', 'createPattern',
    'createImageData', 'getImageData', 'setLineDash', 'getLineDash', 'getContextAttributes',
    'isContextLost',
  ]);
  // Boxes closer than this many pixels of extra area are read as one: each getImageData has
  // a fixed cost of roughly as many pixels.
  const MERGE_SLACK = 3000;

  class Damage {
    constructor(ctx, width, height) {
      this.width = width;
      this.height = height;
      this.tracking = false;
      this.whole = true; // read the whole canvas
      this.clipped = false; // a clip region may stop a full clearRect: never trust one again
      this.boxes = []; // [x0, y0, x1, y1], integers within the canvas
      const proto = Object.getPrototypeOf(ctx);
      const getTransform = proto.getTransform;
      const damage = this;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const method = Object.getOwnPropertyDescriptor(proto, name).value;
        if (typeof method !== 'function' || HARMLESS.has(name)) continue;
        if (name === 'drawImage') {
          ctx.drawImage = function (image, ...args) {
            if (damage.tracking && !damage.whole && (args.length === 4 || args.length === 8)) {
              const [x, y, w, h] = args.length === 8 ? args.slice(4) : args;
              damage.add(this, getTransform, +x, +y, +w, +h);
            } else damage.whole = true; // drawn at the image's own size: not worth measuring
            return method.call(this, image, ...args);
          };
        } else if (name === 'clearRect') {
          ctx.clearRect = function (x, y, w, h) {
            if (damage.tracking && damage.covers(getTransform.call(this), +x, +y, +w, +h)) {
              damage.whole = false;
              damage.boxes.length = 0;
            }
            return method.call(this, x, y, w, h);
          };
        } else if (name === 'clip') {
          ctx.clip = function (...args) {
            damage.clipped = true;
            damage.whole = true;
            return method.apply(this, args);
          };
        } else {
          ctx[name] = function (...args) {
            damage.whole = true;
            return method.apply(this, args);
          };
        }
      }
    }

    /** Track the drawing from here on (the last frame of a step). */
    begin() {
      this.tracking = true;
      this.whole = true;
      this.boxes.length = 0;
    }

    end() {
      this.tracking = false;
    }

    /** Whether clearRect(x, y, w, h) under matrix m empties the whole canvas. */
    covers(m, x, y, w, h) {
      if (this.clipped || m.b !== 0 || m.c !== 0) return false;
      const xs = [m.a * x + m.e, m.a * (x + w) + m.e];
      const ys = [m.d * y + m.f, m.d * (y + h) + m.f];
      return Math.min(...xs) <= 0 && Math.min(...ys) <= 0 &&
        Math.max(...xs) >= this.width && Math.max(...ys) >= this.height;
    }

    /** Record a drawImage destination rectangle under the context's current transform. */
    add(ctx, getTransform, x, y, w, h) {
      if (ctx.shadowBlur !== 0 || ctx.shadowOffsetX !== 0 || ctx.shadowOffsetY !== 0 ||
          (ctx.filter && ctx.filter !== 'none')) {
        this.whole = true;
        return;
      }
      const m = getTransform.call(ctx);
      let x0 = Infinity;
      let y0 = Infinity;
      let x1 = -Infinity;
      let y1 = -Infinity;
      for (const [px, py] of [[x, y], [x + w, y], [x, y + h], [x + w, y + h]]) {
        const tx = m.a * px + m.c * py + m.e;
        const ty = m.b * px + m.d * py + m.f;
        x0 = Math.min(x0, tx);
        x1 = Math.max(x1, tx);
        y0 = Math.min(y0, ty);
        y1 = Math.max(y1, ty);
      }
      if (!(x1 - x0 < Infinity && y1 - y0 < Infinity)) { // NaN or infinite: read it all
        this.whole = true;
        return;
      }
      x0 = Math.max(0, Math.floor(x0) - 1);
      y0 = Math.max(0, Math.floor(y0) - 1);
      x1 = Math.min(this.width, Math.ceil(x1) + 1);
      y1 = Math.min(this.height, Math.ceil(y1) + 1);
      if (x0 < x1 && y0 < y1) this.boxes.push([x0, y0, x1, y1]);
    }

    /** The boxes, overlapping or nearby ones merged. */
    merged() {
      const boxes = this.boxes.map((b) => b.slice());
      const area = (b) => (b[2] - b[0]) * (b[3] - b[1]);
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i];
          const b = boxes[j];
          const u = [Math.min(a[0], b[0]), Math.min(a[1], b[1]),
            Math.max(a[2], b[2]), Math.max(a[3], b[3])];
          if (area(u) <= area(a) + area(b) + MERGE_SLACK) {
            boxes[i] = u;
            boxes.splice(j, 1);
            j = i; // the grown box may now reach boxes already passed
          }
        }
      }
      return boxes;
    }
  }

  window.__rlDamage = { Damage };
})();
