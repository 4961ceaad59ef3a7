// Bytes per training step of the two distributed schemes, for a global batch of N images over
// P workers (float32; see README "Many processes: data-parallel and hybrid"). Two numbers each:
//   payload: what each worker hands to its collectives in a step (the tensors that travel;
//            the benchmark counts the same thing at the calls, benchmarks/distributed.ts)
//   wire:    what each worker sends with bandwidth-optimal (ring) algorithms: an allreduce of
//            B bytes sends 2 (P-1)/P B, an allgather or reduce-scatter whose whole is B bytes
//            sends (P-1)/P B.
//   data:   allreduce of every gradient W:           payload 4 W,  wire 2 (P-1)/P 4 W
//   hybrid: allreduce of the conv gradients Wc, and for the fc layers (features D = conv5's
//           flattened output, fc widths F6, F7, K classes, each rounded up to a multiple of
//           P where it does not divide) in forward the allgathers of
//           the conv5 features (N D), fc6 and fc7's outputs (N F6, N F7) and the logits (N K);
//           in backward the allgather of dlogits (N K) and the reduce-scatters of the input
//           gradients of fc8, fc7 and fc6 (N F7, N F6, N D):
//                       payload 4 (Wc + 2 N (D + F6 + F7 + K)),
//                       wire    4 (P-1)/P (2 Wc + 2 N (D + F6 + F7 + K))
// Data parallel moves the parameters (independent of N), hybrid moves the fc activations
// (independent of the fc parameters): hybrid wins when 2 N (D + F6 + F7 + K) < W - Wc roughly.
import { inferShapes, ModelConfig, weightShape } from '../nn/spec';

export interface SchemeTraffic {
  /** bytes each worker gives its collectives per step */
  payload: number;
  /** bytes each worker sends per step with ring algorithms */
  wire: number;
}

export function parallelTraffic(config: ModelConfig, N: number, P: number): { data: SchemeTraffic; hybrid: SchemeTraffic; params: number; convParams: number; fcActivations: number } {
  const shapes = inferShapes(config);
  let params = 0, convParams = 0, fcActivations = 0;
  config.layers.forEach((l, i) => {
    const input = i === 0 ? config.input : shapes[i - 1];
    const w = weightShape(l, input);
    if (w && (l.type === 'conv' || l.type === 'fc')) {
      const count = w.reduce((a, b) => a * b, 1) + l.out;
      params += count;
      if (l.type === 'conv') convParams += count;
    }
    // D (the first fc layer's input), then each fc layer's output, padded to P ceil(F / P)
    // neurons where F does not divide over the ranks (lib/train/hybrid.ts)
    if (l.type === 'fc') {
      if (!fcActivations) fcActivations += input[0];
      fcActivations += P * Math.ceil(l.out / P);
    }
  });
  const ring = (P - 1) / P;
  return {
    params, convParams, fcActivations,
    data: { payload: 4 * params, wire: 2 * ring * 4 * params },
    hybrid: { payload: 4 * (convParams + 2 * N * fcActivations), wire: ring * 4 * (2 * convParams + 2 * N * fcActivations) },
  };
}
