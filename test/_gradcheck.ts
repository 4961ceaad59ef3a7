// Finite-difference gradient checks (centred differences, as Caffe's GradientChecker):
// for loss L = sum(f(inputs) * r) with a fixed random r, the analytic gradient (the op's
// backward fed dy = r) must match (L(x + eps) - L(x - eps)) / 2 eps for every checked
// element, within threshold * max(|analytic|, |numeric|, 1).
import { Tensor } from '../lib/core/tensor';

export interface GradCheckResult {
  checked: number;
  skipped: number;
  failures: string[];
}

export interface GradCheckOptions {
  eps?: number;
  threshold?: number;
  /** check at most this many elements per input (spread evenly) */
  maxChecks?: number;
  /** skip an element where the perturbation crosses a kink (e.g. changes a ReLU's sign) */
  kink?: (input: Float32Array, index: number, eps: number) => boolean;
}

/**
 * forward(values) returns the op's output for the current input values; analytic is the
 * gradient of sum(output * r) with respect to the input.
 */
export function gradCheck(
  input: Float32Array,
  analytic: Float32Array,
  r: Float32Array,
  forward: (values: Float32Array) => Float32Array,
  options: GradCheckOptions = {},
): GradCheckResult {
  const eps = options.eps ?? 1e-2;
  const threshold = options.threshold ?? 1e-2;
  const step = Math.max(1, Math.floor(input.length / (options.maxChecks ?? 400)));
  const loss = (values: Float32Array) => {
    const y = forward(values);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * r[i];
    return s;
  };
  const result: GradCheckResult = { checked: 0, skipped: 0, failures: [] };
  const values = Float32Array.from(input);
  for (let i = 0; i < input.length; i += step) {
    if (options.kink?.(input, i, eps)) {
      result.skipped++;
      continue;
    }
    values[i] = input[i] + eps;
    const plus = loss(values);
    values[i] = input[i] - eps;
    const minus = loss(values);
    values[i] = input[i];
    const numeric = (plus - minus) / (2 * eps);
    const scale = Math.max(Math.abs(numeric), Math.abs(analytic[i]), 1);
    result.checked++;
    if (!(Math.abs(numeric - analytic[i]) <= threshold * scale) && result.failures.length < 5)
      result.failures.push(`[${i}] analytic ${analytic[i]} numeric ${numeric}`);
  }
  return result;
}

/** Runs forward on a fresh tensor built from values, returns its output and frees both. */
export function through(shape: readonly number[], device: string, f: (x: Tensor) => Tensor): (values: Float32Array) => Float32Array {
  return (values) => {
    const x = Tensor.fromArray(values, shape, device);
    const y = f(x);
    const out = y.toFloat32Array();
    x.dispose();
    y.dispose();
    return out;
  };
}
