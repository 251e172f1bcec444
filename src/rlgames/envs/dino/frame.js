// Pixels of the game canvas, as rlgames observes them.
//
// The canvas is transparent where nothing is drawn: every pixel is composited on white first.
// "grayscale" then matches gymnasium's GrayscaleObservation (0.2125 R + 0.7154 G + 0.0721 B,
// truncated to uint8) and ResizeObservation (cv2.resize with INTER_AREA, an area average).
// Frames travel to Python as base64 of raw bytes, row-major, channels last.
(() => {
  'use strict';

  // One axis of an area-average downsample from n source pixels to m (m <= n): for each
  // target pixel, the source pixels it covers and the fraction of it each one covers.
  function areaTable(n, m) {
    const scale = n / m;
    const src = [];
    const dst = [];
    const weight = [];
    for (let d = 0; d < m; d++) {
      const lo = d * scale;
      const hi = lo + scale;
      const cell = Math.min(scale, n - lo);
      const first = Math.ceil(lo);
      const last = Math.floor(hi);
      if (first - lo > 1e-3) {
        src.push(first - 1); dst.push(d); weight.push((first - lo) / cell);
      }
      for (let s = first; s < last; s++) {
        src.push(s); dst.push(d); weight.push(1 / cell);
      }
      if (hi - last > 1e-3 && last < n) {
        src.push(last); dst.push(d); weight.push(Math.min(hi - last, 1) / cell);
      }
    }
    return { src: Int32Array.from(src), dst: Int32Array.from(dst), weight: Float64Array.from(weight) };
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
      this.rgb = new Uint8Array(this.width * this.height * 3);
      this.gray = new Uint8Array(this.width * this.height);
      this.size = null;
    }

    pixels() {
      return this.ctx.getImageData(0, 0, this.width, this.height).data;
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
      const px = this.pixels();
      const words = new Uint32Array(px.buffer, px.byteOffset, px.length >> 2);
      const out = this.gray;
      out.fill(WHITE);
      for (let i = 0; i < words.length; i++) {
        if (words[i] === 0) continue;
        const a = px[4 * i + 3];
        out[i] = luma(over(px[4 * i], a), over(px[4 * i + 1], a), over(px[4 * i + 2], a));
      }
      return out;
    }

    /** Grayscale area-averaged down to h x w (each at most the canvas size). */
    readGraySmall(h, w) {
      if (!this.size || this.size.h !== h || this.size.w !== w) {
        this.size = {
          h, w, x: areaTable(this.width, w), y: areaTable(this.height, h),
          rows: new Float64Array(this.height * w), acc: new Float64Array(h * w),
          out: new Uint8Array(h * w),
        };
      }
      const { x, y, rows, acc, out } = this.size;
      const gray = this.readGray();
      const W = this.width;
      rows.fill(0);
      acc.fill(0);
      const xs = x.src;
      const xd = x.dst;
      const xw = x.weight;
      for (let r = 0; r < this.height; r++) {
        const inRow = r * W;
        const outRow = r * w;
        for (let k = 0; k < xs.length; k++) rows[outRow + xd[k]] += gray[inRow + xs[k]] * xw[k];
      }
      for (let k = 0; k < y.src.length; k++) {
        const inRow = y.src[k] * w;
        const outRow = y.dst[k] * w;
        const wk = y.weight[k];
        for (let c = 0; c < w; c++) acc[outRow + c] += rows[inRow + c] * wk;
      }
      for (let i = 0; i < out.length; i++) out[i] = Math.min(255, roundHalfEven(acc[i]));
      return out;
    }
  }

  /** Bytes as base64, for the trip to Python inside a JSON reply. */
  function toBase64(bytes) {
    if (typeof bytes.toBase64 === 'function') return bytes.toBase64();
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 8192) {
      chunks.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 8192)));
    }
    return btoa(chunks.join(''));
  }

  window.__rlFrame = { Frame, toBase64, areaTable };
})();
