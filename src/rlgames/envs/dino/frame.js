// Pixels of the game canvas, as rlgames observes them. Needs damage.js first.
//
// The canvas is transparent where nothing is drawn: every pixel is composited on white first.
// "grayscale" then matches gymnasium's GrayscaleObservation (0.2125 R + 0.7154 G + 0.0721 B,
// truncated to uint8) and ResizeObservation (cv2.resize with INTER_AREA, an area average).
// Frames travel to Python run-length coded, in base64: bytes row-major, channels last.
(() => {
  'use strict';

  // One axis of an area-average downsample from n source pixels to m (m <= n): target pixel d
  // covers source pixels src[k] for k in [start[d], start[d + 1]), each by fraction weight[k].
  function areaTable(n, m) {
    const scale = n / m;
    const src = [];
    const weight = [];
    const start = [0];
    for (let d = 0; d < m; d++) {
      const lo = d * scale;
      const hi = lo + scale;
      const cell = Math.min(scale, n - lo);
      const first = Math.ceil(lo);
      const last = Math.floor(hi);
      if (first - lo > 1e-3) {
        src.push(first - 1);
        weight.push((first - lo) / cell);
      }
      for (let s = first; s < last; s++) {
        src.push(s);
        weight.push(1 / cell);
      }
      if (hi - last > 1e-3 && last < n) {
        src.push(last);
        weight.push(Math.min(hi - last, 1) / cell);
      }
      start.push(src.length);
    }
    return {
      src: Int32Array.from(src), weight: Float64Array.from(weight), start: Int32Array.from(start),
    };
  }

  // cv2 rounds to nearest, ties to even.
  function roundHalfEven(v) {
    const r = Math.round(v);
    return r - v === 0.5 && (r & 1) ? r - 1 : r;
  }

  // A colour over a white page: 255 - a (255 - c) / 255, rounded.
  const over = (c, a) => (65025 - a * (255 - c) + 127) / 255 | 0;
  const luma = (r, g, b) => 0.2125 * r + 0.7154 * g + 0.0721 * b;
  const WHITE = luma(255, 255, 255) | 0;

  class Frame {
    constructor(canvas) {
      this.canvas = canvas;
      this.ctx = canvas.getContext('2d');
      this.width = canvas.width;
      this.height = canvas.height;
      this.damage = new __rlDamage.Damage(this.ctx, this.width, this.height);
      this.buffer = new Uint32Array(this.width * this.height); // the canvas, when read in parts
      this.bytes = new Uint8Array(this.buffer.buffer);
      this.filled = null; // boxes holding pixels in this.buffer; null = none known
      this.rgb = new Uint8Array(this.width * this.height * 3);
      this.gray = new Uint8Array(this.width * this.height);
      this.size = null;
    }

    /** The canvas as RGBA bytes (not premultiplied), row-major. */
    pixels() {
      const damage = this.damage;
      if (damage.whole || this.canvas.width !== this.width || this.canvas.height !== this.height) {
        this.filled = null;
        return this.ctx.getImageData(0, 0, this.width, this.height).data;
      }
      const W = this.width;
      const buffer = this.buffer;
      if (this.filled === null) buffer.fill(0);
      else for (const [x0, y0, x1, y1] of this.filled) clearBox(buffer, W, x0, y0, x1, y1);
      const boxes = damage.merged();
      for (const [x0, y0, x1, y1] of boxes) {
        const w = x1 - x0;
        const data = this.ctx.getImageData(x0, y0, w, y1 - y0).data;
        const words = new Uint32Array(data.buffer, data.byteOffset, data.length >> 2);
        for (let r = 0; r < y1 - y0; r++) {
          buffer.set(words.subarray(r * w, (r + 1) * w), (y0 + r) * W + x0);
        }
      }
      this.filled = boxes;
      return this.bytes;
    }

    /** Canvas composited on white: H x W x 3 bytes. */
    readRGB() {
      const px = this.pixels();
      const words = new Uint32Array(px.buffer, px.byteOffset, px.length >> 2);
      const out = this.rgb;
      out.fill(255);
      for (let i = 0; i < words.length; i++) {
        if (words[i] === 0) continue; // transparent: stays white
        const a = px[4 * i + 3];
        out[3 * i] = over(px[4 * i], a);
        out[3 * i + 1] = over(px[4 * i + 1], a);
        out[3 * i + 2] = over(px[4 * i + 2], a);
      }
      return out;
    }

    /** Full-size grayscale: exactly GrayscaleObservation applied to readRGB(). */
    readGray() {
      const words = this.words();
      const out = this.gray;
      for (let i = 0; i < words.length; i++) out[i] = words[i] === 0 ? WHITE : grayOf(words[i]);
      return out;
    }

    /** Grayscale area-averaged down to h x w (each at most the canvas size). */
    readGraySmall(h, w) {
      if (!this.size || this.size.h !== h || this.size.w !== w) {
        this.size = {
          h, w, x: areaTable(this.width, w), y: areaTable(this.height, h),
          rows: new Float64Array(this.height * w), line: new Float64Array(w),
          out: new Uint8Array(h * w),
        };
      }
      const { x, y, rows, line, out } = this.size;
      shrinkRows(this.words(), this.width, this.height, x, rows, w);
      shrinkColumns(rows, w, h, y, line, out);
      return out;
    }

    /** The canvas as one 32-bit word per pixel (0 where transparent). */
    words() {
      const px = this.pixels();
      return new Uint32Array(px.buffer, px.byteOffset, px.length >> 2);
    }
  }

  function clearBox(buffer, W, x0, y0, x1, y1) {
    for (let r = y0; r < y1; r++) buffer.fill(0, r * W + x0, r * W + x1);
  }

  // The gray level of one RGBA pixel (a little-endian word) over white, as in readGray().
  function grayOf(p) {
    const a = p >>> 24;
    return luma(over(p & 255, a), over((p >>> 8) & 255, a), over((p >>> 16) & 255, a)) | 0;
  }

  // Each source row (width W) of pixel words to w area averages of their gray levels. Most
  // pixels are transparent: rows start as all white, then each drawn pixel adds its difference
  // from white to the (one or two) cells it falls in.
  function shrinkRows(words, W, H, x, rows, w) {
    if (!x.white) {
      const { src, weight, start } = x;
      x.white = new Float64Array(w);
      x.cells = new Int32Array(2 * W).fill(-1);
      x.parts = new Float64Array(2 * W);
      for (let c = 0; c < w; c++) {
        for (let k = start[c]; k < start[c + 1]; k++) {
          x.white[c] += WHITE * weight[k];
          const slot = x.cells[2 * src[k]] < 0 ? 2 * src[k] : 2 * src[k] + 1;
          x.cells[slot] = c;
          x.parts[slot] = weight[k];
        }
      }
    }
    const { white, cells, parts } = x;
    const W4 = W & ~3;
    let last = 0; // the last drawn pixel and its difference from white (the game has few colours)
    let darker = 0;
    for (let r = 0; r < H; r++) {
      const inRow = r * W;
      const outRow = r * w;
      rows.set(white, outRow);
      for (let s = 0; s < W; s++) {
        // Four transparent pixels at a time, where they start a group of four.
        if (s < W4 && (s & 3) === 0 && (words[inRow + s] | words[inRow + s + 1] |
            words[inRow + s + 2] | words[inRow + s + 3]) === 0) {
          s += 3;
          continue;
        }
        const p = words[inRow + s];
        if (p === 0) continue;
        if (p !== last) {
          last = p;
          darker = grayOf(p) - WHITE;
        }
        rows[outRow + cells[2 * s]] += darker * parts[2 * s];
        const second = cells[2 * s + 1];
        if (second >= 0) rows[outRow + second] += darker * parts[2 * s + 1];
      }
    }
  }

  // Rows of width w, area-averaged down to h rows, rounded to bytes.
  function shrinkColumns(rows, w, h, y, line, out) {
    const { src, weight, start } = y;
    for (let d = 0; d < h; d++) {
      line.fill(0);
      for (let k = start[d]; k < start[d + 1]; k++) {
        const inRow = src[k] * w;
        const wk = weight[k];
        for (let c = 0; c < w; c++) line[c] += rows[inRow + c] * wk;
      }
      const outRow = d * w;
      for (let c = 0; c < w; c++) out[outRow + c] = Math.min(255, roundHalfEven(line[c]));
    }
  }

  // Run-length code: (value, count) byte pairs, count 1-255. Frames are mostly white, so a
  // full rgb canvas (~250 KB) shrinks to a few KB, and the trip to Python with it.
  let runs = new Uint8Array(1 << 16);
  function runLength(bytes) {
    let n = 0;
    let i = 0;
    while (i < bytes.length) {
      const v = bytes[i];
      let j = i + 1;
      const end = Math.min(bytes.length, i + 255);
      while (j < end && bytes[j] === v) j++;
      if (n + 2 > runs.length) {
        const bigger = new Uint8Array(runs.length * 2);
        bigger.set(runs);
        runs = bigger;
      }
      runs[n++] = v;
      runs[n++] = j - i;
      i = j;
    }
    return runs.subarray(0, n);
  }

  /** Bytes as base64 of their run-length code, for the trip to Python in a JSON reply. */
  function encode(bytes) {
    const coded = runLength(bytes);
    if (typeof coded.toBase64 === 'function') return coded.toBase64();
    const chunks = [];
    for (let i = 0; i < coded.length; i += 8192) {
      chunks.push(String.fromCharCode.apply(null, coded.subarray(i, i + 8192)));
    }
    return btoa(chunks.join(''));
  }

  window.__rlFrame = { Frame, encode, areaTable };
})();
