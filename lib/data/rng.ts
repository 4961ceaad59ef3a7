// Philox4x32-10 in TypeScript (Salmon et al., SC 2011), the same function as
// native/include/philox.h: philox(block, offset, seed) -> four 32-bit words. Counter-based, so
// every random number of the data pipeline is a pure function of (seed, what it is for): an
// image's crop, flip and lighting depend only on (seed, epoch, image index), whichever worker
// thread computes them and whatever the batch size is.
//
// 64-bit counter and key words are passed as (lo, hi) 32-bit halves. Streams (the `offset`
// words) used by the pipeline are listed in STREAM below so that no two uses collide.

export const STREAM = {
  /** Fisher-Yates shuffle of epoch e: block = position, offset = (SHUFFLE, e). */
  SHUFFLE: 1,
  /** Crop position and flip of image i in epoch e: block = i, offset = (CROP, e). */
  CROP: 2,
  /** PCA lighting normals of image i in epoch e: block = i, offset = (LIGHTING, e). */
  LIGHTING: 3,
  /** Synthetic image generation (see synthetic.ts). */
  SYNTHETIC: 4,
} as const;

/** The high 32 bits of the 64-bit product of two uint32s, exactly, with doubles. */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
}

/**
 * Philox4x32-10 with counter (c0, c1, c2, c3) = (blockLo, blockHi, offsetLo, offsetHi) and key
 * (k0, k1) = (seedLo, seedHi). Writes four uint32 words into `out` (and returns it).
 */
export function philox(
  blockLo: number, blockHi: number, offsetLo: number, offsetHi: number, seedLo: number, seedHi: number,
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  let c0 = blockLo >>> 0, c1 = blockHi >>> 0, c2 = offsetLo >>> 0, c3 = offsetHi >>> 0;
  let k0 = seedLo >>> 0, k1 = seedHi >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(0xd2511f53, c0), lo0 = Math.imul(0xd2511f53, c0) >>> 0;
    const hi1 = mulhi(0xcd9e8d57, c2), lo1 = Math.imul(0xcd9e8d57, c2) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0, n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
  return out;
}

/** A uniform number in [0, 1) from a uint32 word (32 bits of resolution). */
export function toUniform(word: number): number {
  return (word >>> 0) / 4294967296;
}

/** A uniform number in [0, 1) with 53 bits of resolution, from two words. */
export function toUniform53(a: number, b: number): number {
  return ((a >>> 0) * 2097152 + ((b >>> 0) >>> 11)) / 9007199254740992;
}

/** Two standard normals from two uint32 words (Box-Muller; the first uniform is kept off 0). */
export function boxMuller(a: number, b: number): [number, number] {
  const u1 = ((a >>> 0) + 1) / 4294967297; // (0, 1)
  const u2 = toUniform(b);
  const r = Math.sqrt(-2 * Math.log(u1));
  return [r * Math.cos(2 * Math.PI * u2), r * Math.sin(2 * Math.PI * u2)];
}

/** Splits a non-negative safe integer into its (lo, hi) 32-bit words. */
export function words(value: number): [number, number] {
  return [value % 4294967296 >>> 0, Math.floor(value / 4294967296) >>> 0];
}

/**
 * A sequential stream over Philox blocks for one (seed, offset): block 0, 1, 2, ... Used where
 * a sequence is natural (drawing one synthetic image); still a pure function of its key.
 */
export class PhiloxStream {
  private readonly buf = new Uint32Array(4);
  private used = 4;
  private block = 0;
  private readonly seed: [number, number];
  constructor(seed: number, private readonly offsetLo: number, private readonly offsetHi: number) {
    this.seed = words(seed);
  }
  nextWord(): number {
    if (this.used === 4) {
      philox(this.block++, 0, this.offsetLo, this.offsetHi, this.seed[0], this.seed[1], this.buf);
      this.used = 0;
    }
    return this.buf[this.used++];
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    return toUniform(this.nextWord());
  }
  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
  normal(): number {
    return boxMuller(this.nextWord(), this.nextWord())[0];
  }
}

/**
 * The permutation of 0..n-1 for one epoch: Fisher-Yates where the swap at position i draws
 * from Philox block i of stream (SHUFFLE, epoch).
 */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const [s0, s1] = words(seed);
  const w = new Uint32Array(4);
  for (let i = n - 1; i > 0; i--) {
    philox(i, 0, STREAM.SHUFFLE, epoch, s0, s1, w);
    const j = Math.floor(toUniform53(w[0], w[1]) * (i + 1));
    const t = perm[i]; perm[i] = perm[j]; perm[j] = t;
  }
  return perm;
}
