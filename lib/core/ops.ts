// The ops: validated in TypeScript, computed by the native backend of the tensors' device.
// Each forward allocates its output; each backward returns the gradients it was asked for.
// Layout: x (N, C, H, W); conv weights (K, C / groups, KH, KW); linear weights (OUT, IN).
import { ArgumentError, describe } from './errors';
import { outputSize } from './geometry';
import { native } from './native';
import type { ConvParams, LinearParams, LrnParams, PoolParams } from './params';
import { formatShape, seedWords, Tensor } from './tensor';
import {
  checkFinite,
  checkFlag,
  checkLabels,
  checkPair,
  checkPositiveInt,
  checkSameDevice,
  checkShapeEquals,
  checkTensor,
} from './validate';

// ---------------------------------------------------------------- convolution

export interface Conv2dOptions {
  /** n or [h, w]; default 1 */
  stride?: number | [number, number];
  /** zero padding on each side, n or [h, w]; default 0 */
  padding?: number | [number, number];
  /** default 1; C and K must be divisible by it */
  groups?: number;
  /**
   * conv2d only: y = max(0, conv(x, weight) + bias), the ReLU applied where the output is
   * written (no second pass, no second tensor); bit for bit relu(conv2d(...)). Default false.
   */
  relu?: boolean;
}

/** The native parameters, and the output side the binding computes from them. */
interface ConvGeometry extends ConvParams {
  oh: number; ow: number;
}

function convGeometry(op: string, x: Tensor, weight: Tensor, bias: Tensor | null | undefined, o: Conv2dOptions = {}): ConvGeometry {
  checkTensor(op, 'x', x, 4, 'N, C, H, W');
  checkTensor(op, 'weight', weight, 4, 'K, C / groups, KH, KW');
  if (bias !== null && bias !== undefined) checkTensor(op, 'bias', bias, 1, 'K');
  if (o === null || typeof o !== 'object') throw new ArgumentError(op, 'options', 'an object', describe(o));
  const [strideH, strideW] = checkPair(op, 'stride', o.stride ?? 1);
  const [padH, padW] = checkPair(op, 'padding', o.padding ?? 0, true);
  const groups = checkPositiveInt(op, 'groups', o.groups ?? 1);
  const relu = checkFlag(op, 'relu', o.relu);
  const [n, c, h, w] = x.shape;
  const [k, cg, kh, kw] = weight.shape;
  if (c % groups) throw new ArgumentError(op, 'groups', `a divisor of the ${c} input channels of x`, String(groups));
  if (k % groups) throw new ArgumentError(op, 'groups', `a divisor of the ${k} output channels of weight`, String(groups));
  if (cg !== c / groups)
    throw new ArgumentError(op, 'weight', `${c / groups} input channels per group (x has ${c} channels, groups ${groups})`, `shape ${formatShape(weight.shape)}`);
  if (bias && bias.shape[0] !== k) throw new ArgumentError(op, 'bias', `shape [${k}]`, `shape ${formatShape(bias.shape)}`);
  if (h + 2 * padH < kh || w + 2 * padW < kw)
    throw new ArgumentError(op, 'weight', `a kernel no larger than the padded input ${h + 2 * padH}x${w + 2 * padW}`, `a ${kh}x${kw} kernel`);
  checkSameDevice(op, { x, weight, bias });
  const oh = outputSize(h, kh, strideH, padH), ow = outputSize(w, kw, strideW, padW);
  return { n, c, h, w, k, kh, kw, strideH, strideW, padH, padW, groups, relu, oh, ow };
}

/**
 * y (N, K, OH, OW) = conv(x, weight) + bias, OH = floor((H + 2 pad - KH) / stride) + 1; with
 * options.relu, max(0, that).
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, options?: Conv2dOptions): Tensor {
  const op = 'conv2d';
  const g = convGeometry(op, x, weight, bias, options);
  const y = Tensor.empty([g.n, g.k, g.oh, g.ow], x.device);
  native().conv2dForward(x.handle(op, 'x'), weight.handle(op, 'weight'), bias ? bias.handle(op, 'bias') : null, y.handle(op, 'y'), g);
  return y;
}

export interface Conv2dGradients {
  dx?: Tensor;
  dweight: Tensor;
  dbias?: Tensor;
}

/**
 * Gradients of conv2d: dx (unless inputGrad is false), dweight, and dbias when withBias.
 * options.relu is ignored: a fused ReLU's gradient is reluBackward's, applied to dy first.
 */
export function conv2dBackward(
  x: Tensor,
  weight: Tensor,
  dy: Tensor,
  options?: Conv2dOptions,
  want: { inputGrad?: boolean; biasGrad?: boolean } = {},
): Conv2dGradients {
  const op = 'conv2dBackward';
  const g = { ...convGeometry(op, x, weight, null, options), relu: false };
  checkTensor(op, 'dy', dy, 4, 'N, K, OH, OW');
  checkShapeEquals(op, 'dy', dy, [g.n, g.k, g.oh, g.ow]);
  checkSameDevice(op, { x, dy });
  const out: Conv2dGradients = { dweight: Tensor.empty(weight.shape, x.device) };
  if (want.biasGrad !== false) out.dbias = Tensor.empty([g.k], x.device);
  native().conv2dBackwardFilter(x.handle(op, 'x'), dy.handle(op, 'dy'), out.dweight.handle(op, 'dweight'),
    out.dbias ? out.dbias.handle(op, 'dbias') : null, g);
  if (want.inputGrad !== false) {
    out.dx = Tensor.empty(x.shape, x.device);
    native().conv2dBackwardData(dy.handle(op, 'dy'), weight.handle(op, 'weight'), out.dx.handle(op, 'dx'), g);
  }
  return out;
}

// ---------------------------------------------------------------- local response normalisation

export interface LrnOptions {
  /** channels in the window; default 5 */
  size?: number;
  /** applied to the sum of squares, as printed in the paper; default 1e-4 */
  alpha?: number;
  /** default 0.75 */
  beta?: number;
  /** default 2 */
  k?: number;
  /** the window never crosses a group of C / groups channels; default 1 */
  groups?: number;
}

function lrnParams(op: string, x: Tensor, o: LrnOptions = {}): LrnParams {
  checkTensor(op, 'x', x, 4, 'N, C, H, W');
  if (o === null || typeof o !== 'object') throw new ArgumentError(op, 'options', 'an object', describe(o));
  const size = checkPositiveInt(op, 'size', o.size ?? 5);
  const alpha = checkFinite(op, 'alpha', o.alpha ?? 1e-4, 0);
  const beta = checkFinite(op, 'beta', o.beta ?? 0.75, 0);
  const k = checkFinite(op, 'k', o.k ?? 2);
  if (!(k > 0)) throw new ArgumentError(op, 'k', 'a number > 0', describe(k));
  const groups = checkPositiveInt(op, 'groups', o.groups ?? 1);
  const [n, c, h, w] = x.shape;
  if (c % groups) throw new ArgumentError(op, 'groups', `a divisor of the ${c} channels of x`, String(groups));
  return { n, c, h, w, size, alpha, beta, k, groups };
}

/**
 * Cross-map LRN (paper section 3.3): y = x / (k + alpha * sum_{window} x^2)^beta, window
 * c - size/2 .. c + (size-1)/2 clipped to the channel group. With alpha on the sum this is
 * PyTorch's LocalResponseNorm(size, alpha * size, beta, k).
 */
export function lrn(x: Tensor, options?: LrnOptions): Tensor {
  const op = 'lrn';
  const p = lrnParams(op, x, options);
  const y = Tensor.empty(x.shape, x.device);
  native().lrnForward(x.handle(op, 'x'), y.handle(op, 'y'), p);
  return y;
}

export function lrnBackward(x: Tensor, dy: Tensor, options?: LrnOptions): Tensor {
  const op = 'lrnBackward';
  const p = lrnParams(op, x, options);
  checkTensor(op, 'dy', dy);
  checkShapeEquals(op, 'dy', dy, x.shape);
  checkSameDevice(op, { x, dy });
  const dx = Tensor.empty(x.shape, x.device);
  native().lrnBackward(x.handle(op, 'x'), dy.handle(op, 'dy'), dx.handle(op, 'dx'), p);
  return dx;
}

// ---------------------------------------------------------------- max pooling

export interface MaxPoolOptions {
  /** window, n or [h, w]; default 3 (the paper's) */
  kernel?: number | [number, number];
  /** n or [h, w]; default 2 (overlapping with a 3 window) */
  stride?: number | [number, number];
  /** n or [h, w], smaller than the window; default 0 */
  padding?: number | [number, number];
}

function poolParams(op: string, x: Tensor, o: MaxPoolOptions = {}): PoolParams & { oh: number; ow: number } {
  checkTensor(op, 'x', x, 4, 'N, C, H, W');
  if (o === null || typeof o !== 'object') throw new ArgumentError(op, 'options', 'an object', describe(o));
  const [kh, kw] = checkPair(op, 'kernel', o.kernel ?? 3);
  const [strideH, strideW] = checkPair(op, 'stride', o.stride ?? 2);
  const [padH, padW] = checkPair(op, 'padding', o.padding ?? 0, true);
  if (padH >= kh || padW >= kw) throw new ArgumentError(op, 'padding', `less than the ${kh}x${kw} window`, describe(o.padding));
  const [n, c, h, w] = x.shape;
  if (h + 2 * padH < kh || w + 2 * padW < kw)
    throw new ArgumentError(op, 'kernel', `a window no larger than the padded input ${h + 2 * padH}x${w + 2 * padW}`, `${kh}x${kw}`);
  const oh = outputSize(h, kh, strideH, padH), ow = outputSize(w, kw, strideW, padW);
  return { n, c, h, w, kh, kw, strideH, strideW, padH, padW, oh, ow };
}

/** Max over each window: y (N, C, OH, OW), OH = floor((H + 2 pad - KH) / stride) + 1. */
export function maxPool2d(x: Tensor, options?: MaxPoolOptions): Tensor {
  const op = 'maxPool2d';
  const p = poolParams(op, x, options);
  const y = Tensor.empty([p.n, p.c, p.oh, p.ow], x.device);
  native().maxpoolForward(x.handle(op, 'x'), y.handle(op, 'y'), p);
  return y;
}

/** Each output's gradient goes to the first position of its window holding the max. */
export function maxPool2dBackward(x: Tensor, y: Tensor, dy: Tensor, options?: MaxPoolOptions): Tensor {
  const op = 'maxPool2dBackward';
  const p = poolParams(op, x, options);
  checkTensor(op, 'y', y);
  checkTensor(op, 'dy', dy);
  checkShapeEquals(op, 'y', y, [p.n, p.c, p.oh, p.ow]);
  checkShapeEquals(op, 'dy', dy, [p.n, p.c, p.oh, p.ow]);
  checkSameDevice(op, { x, y, dy });
  const dx = Tensor.empty(x.shape, x.device);
  native().maxpoolBackward(x.handle(op, 'x'), y.handle(op, 'y'), dy.handle(op, 'dy'), dx.handle(op, 'dx'), p);
  return dx;
}

// ---------------------------------------------------------------- fully connected

export interface LinearOptions {
  /** y = max(0, x weight^T + bias), in the pass that adds the bias; bit for bit relu(linear(...)). Default false. */
  relu?: boolean;
}

function linearParams(op: string, x: Tensor, weight: Tensor, bias?: Tensor | null, o: LinearOptions = {}): LinearParams {
  checkTensor(op, 'x', x, 2, 'N, IN');
  checkTensor(op, 'weight', weight, 2, 'OUT, IN');
  const [n, inF] = x.shape;
  const [out, win] = weight.shape;
  if (win !== inF) throw new ArgumentError(op, 'weight', `${inF} input features (x is ${formatShape(x.shape)})`, `shape ${formatShape(weight.shape)}`);
  if (bias !== null && bias !== undefined) {
    checkTensor(op, 'bias', bias, 1, 'OUT');
    if (bias.shape[0] !== out) throw new ArgumentError(op, 'bias', `shape [${out}]`, `shape ${formatShape(bias.shape)}`);
  }
  checkSameDevice(op, { x, weight, bias });
  if (o === null || typeof o !== 'object') throw new ArgumentError(op, 'options', 'an object', describe(o));
  return { n, in: inF, out, relu: checkFlag(op, 'relu', o.relu) };
}

/** y (N, OUT) = x (N, IN) weight^T + bias; with options.relu, max(0, that). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null, options?: LinearOptions): Tensor {
  const op = 'linear';
  const p = linearParams(op, x, weight, bias, options);
  const y = Tensor.empty([p.n, p.out], x.device);
  native().linearForward(x.handle(op, 'x'), weight.handle(op, 'weight'), bias ? bias.handle(op, 'bias') : null, y.handle(op, 'y'), p);
  return y;
}

export interface LinearGradients {
  dx?: Tensor;
  dweight: Tensor;
  dbias?: Tensor;
}

export function linearBackward(
  x: Tensor,
  weight: Tensor,
  dy: Tensor,
  want: { inputGrad?: boolean; biasGrad?: boolean } = {},
): LinearGradients {
  const op = 'linearBackward';
  const p = linearParams(op, x, weight);
  checkTensor(op, 'dy', dy, 2, 'N, OUT');
  checkShapeEquals(op, 'dy', dy, [p.n, p.out]);
  checkSameDevice(op, { x, dy });
  const out: LinearGradients = { dweight: Tensor.empty(weight.shape, x.device) };
  if (want.biasGrad !== false) out.dbias = Tensor.empty([p.out], x.device);
  native().linearBackwardParams(x.handle(op, 'x'), dy.handle(op, 'dy'), out.dweight.handle(op, 'dweight'),
    out.dbias ? out.dbias.handle(op, 'dbias') : null, p);
  if (want.inputGrad !== false) {
    out.dx = Tensor.empty(x.shape, x.device);
    native().linearBackwardData(dy.handle(op, 'dy'), weight.handle(op, 'weight'), out.dx.handle(op, 'dx'), p);
  }
  return out;
}

// ---------------------------------------------------------------- activations

function unary(op: string, f: 'reluForward' | 'tanhForward', x: Tensor): Tensor {
  checkTensor(op, 'x', x);
  const y = Tensor.empty(x.shape, x.device);
  native()[f](x.handle(op, 'x'), y.handle(op, 'y'));
  return y;
}

function unaryBackward(op: string, f: 'reluBackward' | 'tanhBackward', y: Tensor, dy: Tensor): Tensor {
  checkTensor(op, 'y', y);
  checkTensor(op, 'dy', dy);
  checkShapeEquals(op, 'dy', dy, y.shape);
  checkSameDevice(op, { y, dy });
  const dx = Tensor.empty(y.shape, y.device);
  native()[f](y.handle(op, 'y'), dy.handle(op, 'dy'), dx.handle(op, 'dx'));
  return dx;
}

export const relu = (x: Tensor): Tensor => unary('relu', 'reluForward', x);
/** From the forward output y: dx = dy where y > 0, else 0. */
export const reluBackward = (y: Tensor, dy: Tensor): Tensor => unaryBackward('reluBackward', 'reluBackward', y, dy);
export const tanh = (x: Tensor): Tensor => unary('tanh', 'tanhForward', x);
/** From the forward output y: dx = dy * (1 - y^2). */
export const tanhBackward = (y: Tensor, dy: Tensor): Tensor => unaryBackward('tanhBackward', 'tanhBackward', y, dy);

// ---------------------------------------------------------------- dropout

export interface DropoutOptions {
  /** probability of dropping; default 0.5 */
  p?: number;
  /** training draws a mask; evaluation multiplies by (1 - p) */
  training: boolean;
  /** Philox key; required when training */
  seed?: number;
  /** Philox stream: use a fresh one per call (e.g. the step number); default 0 */
  offset?: number;
}

/**
 * The paper's dropout: training zeroes each element with probability p and keeps the rest
 * unscaled (mask is returned for the backward pass); evaluation multiplies by (1 - p).
 */
export function dropout(x: Tensor, options: DropoutOptions): { y: Tensor; mask?: Tensor } {
  const op = 'dropout';
  checkTensor(op, 'x', x);
  if (!options || typeof options !== 'object' || typeof options.training !== 'boolean')
    throw new ArgumentError(op, 'options', 'an object with training: true or false', describe(options));
  const p = checkFinite(op, 'p', options.p ?? 0.5, 0);
  if (!(p < 1)) throw new ArgumentError(op, 'p', 'a probability in [0, 1)', describe(p));
  const y = Tensor.empty(x.shape, x.device);
  if (!options.training) {
    native().dropoutForwardEval(x.handle(op, 'x'), y.handle(op, 'y'), { p, seedLo: 0, seedHi: 0, offsetLo: 0, offsetHi: 0 });
    return { y };
  }
  if (options.seed === undefined) throw new ArgumentError(op, 'seed', 'a seed when training', 'undefined');
  const seed = seedWords(op, 'seed', options.seed);
  const offset = seedWords(op, 'offset', options.offset ?? 0);
  const mask = Tensor.empty(x.shape, x.device);
  native().dropoutForwardTrain(x.handle(op, 'x'), y.handle(op, 'y'), mask.handle(op, 'mask'), {
    p, seedLo: seed.lo, seedHi: seed.hi, offsetLo: offset.lo, offsetHi: offset.hi,
  });
  return { y, mask };
}

export function dropoutBackward(dy: Tensor, mask: Tensor): Tensor {
  const op = 'dropoutBackward';
  checkTensor(op, 'dy', dy);
  checkTensor(op, 'mask', mask);
  checkShapeEquals(op, 'mask', mask, dy.shape);
  checkSameDevice(op, { dy, mask });
  const dx = Tensor.empty(dy.shape, dy.device);
  native().dropoutBackward(dy.handle(op, 'dy'), mask.handle(op, 'mask'), dx.handle(op, 'dx'));
  return dx;
}

// ---------------------------------------------------------------- softmax cross-entropy

/** Mean over the batch of -log softmax(logits)[label]; probs are kept for the backward pass. */
export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array | number[]): { loss: number; probs: Tensor } {
  const op = 'softmaxCrossEntropy';
  checkTensor(op, 'logits', logits, 2, 'N, CLASSES');
  const [n, classes] = logits.shape;
  const l = checkLabels(op, labels, n, classes);
  const probs = Tensor.empty(logits.shape, logits.device);
  const loss = native().softmaxXentForward(logits.handle(op, 'logits'), l, probs.handle(op, 'probs'), { n, classes });
  return { loss, probs };
}

/** dlogits = scale * (probs - onehot(labels)) / N; scale is the loss's own gradient (1). */
export function softmaxCrossEntropyBackward(probs: Tensor, labels: Int32Array | number[], scale = 1): Tensor {
  const op = 'softmaxCrossEntropyBackward';
  checkTensor(op, 'probs', probs, 2, 'N, CLASSES');
  const [n, classes] = probs.shape;
  const l = checkLabels(op, labels, n, classes);
  checkFinite(op, 'scale', scale);
  const dlogits = Tensor.empty(probs.shape, probs.device);
  native().softmaxXentBackward(probs.handle(op, 'probs'), l, dlogits.handle(op, 'dlogits'), { n, classes, scale });
  return dlogits;
}

// ---------------------------------------------------------------- SGD

export interface SgdOptions {
  lr: number;
  /** default 0.9 */
  momentum?: number;
  /** default 0.0005, multiplied by lr as in the paper */
  weightDecay?: number;
}

/** In place: v <- momentum v - weightDecay lr w - lr grad; w <- w + v (paper section 5). */
export function sgdUpdate(weight: Tensor, grad: Tensor, velocity: Tensor, options: SgdOptions): void {
  const op = 'sgdUpdate';
  checkTensor(op, 'weight', weight);
  checkTensor(op, 'grad', grad);
  checkTensor(op, 'velocity', velocity);
  checkShapeEquals(op, 'grad', grad, weight.shape);
  checkShapeEquals(op, 'velocity', velocity, weight.shape);
  checkSameDevice(op, { weight, grad, velocity });
  if (!options || typeof options !== 'object') throw new ArgumentError(op, 'options', 'an object with lr', describe(options));
  const lr = checkFinite(op, 'lr', options.lr, 0);
  const momentum = checkFinite(op, 'momentum', options.momentum ?? 0.9, 0);
  const weightDecay = checkFinite(op, 'weightDecay', options.weightDecay ?? 0.0005, 0);
  native().sgdUpdate(weight.handle(op, 'weight'), grad.handle(op, 'grad'), velocity.handle(op, 'velocity'), { lr, momentum, weightDecay });
}

// ---------------------------------------------------------------- copies and GEMM

/** Copies src into dst (same shape), between any two devices. */
export function copy(src: Tensor, dst: Tensor): void {
  const op = 'copy';
  checkTensor(op, 'src', src);
  checkTensor(op, 'dst', dst);
  checkShapeEquals(op, 'dst', dst, src.shape);
  native().copy(src.handle(op, 'src'), dst.handle(op, 'dst'));
}

/** out = a + b elementwise (same shape, same device); out defaults to a new tensor and may be a or b. */
export function add(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  const op = 'add';
  checkTensor(op, 'a', a);
  checkTensor(op, 'b', b);
  checkShapeEquals(op, 'b', b, a.shape);
  if (out !== undefined) {
    checkTensor(op, 'out', out);
    checkShapeEquals(op, 'out', out, a.shape);
  }
  checkSameDevice(op, { a, b, out });
  const y = out ?? Tensor.empty(a.shape, a.device);
  native().add(a.handle(op, 'a'), b.handle(op, 'b'), y.handle(op, 'out'));
  return y;
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  /** use the built-in blocked GEMM even where a BLAS was found (for tests) */
  builtin?: boolean;
}

/** c (M, N) = alpha op(a) op(b) + beta c, in place; op(a) (M, K), op(b) (K, N). */
export function gemm(a: Tensor, b: Tensor, c: Tensor, options: GemmOptions = {}): void {
  const op = 'gemm';
  checkTensor(op, 'a', a, 2);
  checkTensor(op, 'b', b, 2);
  checkTensor(op, 'c', c, 2);
  checkSameDevice(op, { a, b, c });
  const transA = !!options.transA, transB = !!options.transB;
  const [m, k] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [kb, n] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (kb !== k) throw new ArgumentError(op, 'b', `${k} rows in op(b)`, `shape ${formatShape(b.shape)}${transB ? ' transposed' : ''}`);
  checkShapeEquals(op, 'c', c, [m, n]);
  const alpha = checkFinite(op, 'alpha', options.alpha ?? 1);
  const beta = checkFinite(op, 'beta', options.beta ?? 0);
  native().gemm(a.handle(op, 'a'), b.handle(op, 'b'), c.handle(op, 'c'), { m, n, k, transA, transB, alpha, beta, builtin: !!options.builtin });
}

/** Philox4x32-10 of (counter = (block, offset), key = seed): four uint32 words. For tests. */
export function philox(block: bigint, offset: bigint, seed: bigint): Uint32Array {
  const w = (v: bigint) => [Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn)];
  return native().philox(...(w(block) as [number, number]), ...(w(offset) as [number, number]), ...(w(seed) as [number, number]));
}
