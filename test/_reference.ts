// Naive loop references, in float64, straight from the definitions (DESIGN.md). Slow and
// obvious on purpose: the backends are checked against these.

export interface ConvCase {
  n: number; c: number; h: number; w: number;
  k: number; kh: number; kw: number;
  stride: [number, number]; pad: [number, number]; groups: number;
}

export function convOut(p: ConvCase): [number, number] {
  return [Math.floor((p.h + 2 * p.pad[0] - p.kh) / p.stride[0]) + 1, Math.floor((p.w + 2 * p.pad[1] - p.kw) / p.stride[1]) + 1];
}

export function convRef(p: ConvCase, x: Float32Array, w: Float32Array, b: Float32Array | null): Float64Array {
  const [oh, ow] = convOut(p);
  const cg = p.c / p.groups, kg = p.k / p.groups;
  const y = new Float64Array(p.n * p.k * oh * ow);
  for (let n = 0; n < p.n; n++)
    for (let k = 0; k < p.k; k++) {
      const g = Math.floor(k / kg);
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let s = b ? b[k] : 0;
          for (let ci = 0; ci < cg; ci++)
            for (let ky = 0; ky < p.kh; ky++)
              for (let kx = 0; kx < p.kw; kx++) {
                const iy = oy * p.stride[0] - p.pad[0] + ky, ix = ox * p.stride[1] - p.pad[1] + kx;
                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
                const c = g * cg + ci;
                s += x[((n * p.c + c) * p.h + iy) * p.w + ix] * w[((k * cg + ci) * p.kh + ky) * p.kw + kx];
              }
          y[((n * p.k + k) * oh + oy) * ow + ox] = s;
        }
    }
  return y;
}

export interface LrnCase { n: number; c: number; h: number; w: number; size: number; alpha: number; beta: number; k: number; groups: number }

export function lrnRef(p: LrnCase, x: Float32Array): Float64Array {
  const y = new Float64Array(x.length);
  const cg = p.c / p.groups, hw = p.h * p.w;
  for (let n = 0; n < p.n; n++)
    for (let c = 0; c < p.c; c++) {
      const g = Math.floor(c / cg), lo = Math.max(g * cg, c - Math.floor(p.size / 2)), hi = Math.min(g * cg + cg - 1, c + Math.floor((p.size - 1) / 2));
      for (let i = 0; i < hw; i++) {
        let sum = 0;
        for (let j = lo; j <= hi; j++) sum += x[(n * p.c + j) * hw + i] ** 2;
        const idx = (n * p.c + c) * hw + i;
        y[idx] = x[idx] / (p.k + p.alpha * sum) ** p.beta;
      }
    }
  return y;
}

export interface PoolCase { n: number; c: number; h: number; w: number; kernel: [number, number]; stride: [number, number]; pad: [number, number] }

export function poolOut(p: PoolCase): [number, number] {
  return [Math.floor((p.h + 2 * p.pad[0] - p.kernel[0]) / p.stride[0]) + 1, Math.floor((p.w + 2 * p.pad[1] - p.kernel[1]) / p.stride[1]) + 1];
}

export function maxPoolRef(p: PoolCase, x: Float32Array): Float64Array {
  const [oh, ow] = poolOut(p);
  const y = new Float64Array(p.n * p.c * oh * ow);
  for (let nc = 0; nc < p.n * p.c; nc++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity;
        for (let ky = 0; ky < p.kernel[0]; ky++)
          for (let kx = 0; kx < p.kernel[1]; kx++) {
            const iy = oy * p.stride[0] - p.pad[0] + ky, ix = ox * p.stride[1] - p.pad[1] + kx;
            if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w) best = Math.max(best, x[(nc * p.h + iy) * p.w + ix]);
          }
        y[(nc * oh + oy) * ow + ox] = best;
      }
  return y;
}

export function linearRef(n: number, inF: number, out: number, x: Float32Array, w: Float32Array, b: Float32Array | null): Float64Array {
  const y = new Float64Array(n * out);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < out; o++) {
      let s = b ? b[o] : 0;
      for (let j = 0; j < inF; j++) s += x[i * inF + j] * w[o * inF + j];
      y[i * out + o] = s;
    }
  return y;
}

export function softmaxXentRef(n: number, classes: number, z: Float32Array, labels: ArrayLike<number>): { loss: number; probs: Float64Array } {
  const probs = new Float64Array(n * classes);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from(z.subarray(i * classes, (i + 1) * classes));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, c) => (probs[i * classes + c] = v / s));
    loss -= Math.log(probs[i * classes + labels[i]]);
  }
  return { loss: loss / n, probs };
}

/** Seeded uniform numbers in [lo, hi) for test inputs (mulberry32). */
export function uniform(count: number, seed: number, lo = -1, hi = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

/**
 * Checks |actual - expected| <= atol + rtol |expected| everywhere and reports the first
 * mismatches (index, actual, expected) rather than a bare false.
 */
export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-4, atol = 1e-5): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} != expected ${expected.length}`;
  const bad: string[] = [];
  let count = 0;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= atol + rtol * Math.abs(expected[i]))) {
      count++;
      worst = Math.max(worst, err);
      if (bad.length < 5) bad.push(`[${i}] ${actual[i]} vs ${expected[i]}`);
    }
  }
  return count ? `${count} of ${actual.length} mismatched (max abs error ${worst}); first: ${bad.join('; ')}` : null;
}

/** Backward of convRef by the same loops: every product x*w that fed y feeds dx and dw. */
export function convBackwardRef(p: ConvCase, x: Float32Array, w: Float32Array, dy: Float32Array) {
  const [oh, ow] = convOut(p);
  const cg = p.c / p.groups, kg = p.k / p.groups;
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(p.k);
  for (let n = 0; n < p.n; n++)
    for (let k = 0; k < p.k; k++) {
      const g = Math.floor(k / kg);
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          const d = dy[((n * p.k + k) * oh + oy) * ow + ox];
          db[k] += d;
          for (let ci = 0; ci < cg; ci++)
            for (let ky = 0; ky < p.kh; ky++)
              for (let kx = 0; kx < p.kw; kx++) {
                const iy = oy * p.stride[0] - p.pad[0] + ky, ix = ox * p.stride[1] - p.pad[1] + kx;
                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
                const xi = ((n * p.c + g * cg + ci) * p.h + iy) * p.w + ix, wi = ((k * cg + ci) * p.kh + ky) * p.kw + kx;
                dx[xi] += w[wi] * d;
                dw[wi] += x[xi] * d;
              }
        }
    }
  return { dx, dw, db };
}

/** Backward of maxPoolRef: each output's gradient to the first maximum of its window. */
export function maxPoolBackwardRef(p: PoolCase, x: Float32Array, dy: Float32Array): Float64Array {
  const [oh, ow] = poolOut(p);
  const dx = new Float64Array(x.length);
  for (let nc = 0; nc < p.n * p.c; nc++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity, at = -1;
        for (let ky = 0; ky < p.kernel[0]; ky++)
          for (let kx = 0; kx < p.kernel[1]; kx++) {
            const iy = oy * p.stride[0] - p.pad[0] + ky, ix = ox * p.stride[1] - p.pad[1] + kx;
            if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
            const i = (nc * p.h + iy) * p.w + ix;
            if (x[i] > best) { best = x[i]; at = i; }
          }
        dx[at] += dy[(nc * oh + oy) * ow + ox];
      }
  return dx;
}
