// Shared by the peers comparison (peers.ts, ours_alexnet.ts, ort_alexnet.ts): the per-layer
// FLOPs of a model and the blocks the per-layer table is made of.
import type { ModelConfig } from '../lib/nn/spec';

/**
 * Forward FLOPs per image of each layer (2 x multiply-adds of the direct convolution or the
 * matrix product; 0 for the layers that do no multiply-adds).
 */
export function layerFlops(config: ModelConfig): { layer: string; flops: number }[] {
  const out: { layer: string; flops: number }[] = [];
  let shape = [...config.input];
  for (const l of config.layers) {
    let flops = 0;
    if (l.type === 'conv') {
      const oh = Math.floor((shape[1] + 2 * l.padding - l.kernel) / l.stride) + 1;
      const ow = Math.floor((shape[2] + 2 * l.padding - l.kernel) / l.stride) + 1;
      flops = 2 * l.out * oh * ow * (shape[0] / l.groups) * l.kernel * l.kernel;
      shape = [l.out, oh, ow];
    } else if (l.type === 'maxpool') {
      const oh = Math.floor((shape[1] - l.kernel) / l.stride) + 1, ow = Math.floor((shape[2] - l.kernel) / l.stride) + 1;
      shape = [shape[0], oh, ow];
    } else if (l.type === 'flatten') shape = [shape.reduce((a, b) => a * b, 1)];
    else if (l.type === 'fc') {
      flops = 2 * shape[0] * l.out;
      shape = [l.out];
    }
    out.push({ layer: l.name, flops });
  }
  return out;
}

/**
 * The row of the per-layer table that a layer (or an ONNX Runtime node) belongs to: an
 * activation joins the convolution or fully connected layer before it (ONNX Runtime fuses
 * them), a split-and-concat LRN's nodes join their LRN, ONNX Runtime's own suffixes dropped.
 */
export function blockOf(name: string): string {
  if (/^Reorder/.test(name)) return 'reorder';  // ONNX Runtime's NCHW <-> NCHWc layout changes
  // ONNX Runtime names a fused node after its last output ('relu1_out_nchwc') or 'fused fc6'
  const base = name.replace(/^fused /, '').replace(/(_out)?(_nchwc)?$/, '').replace(/_(split|part\d+|\d+)$/, '');
  const m = /^(relu|tanh)(\d+)$/.exec(base);
  if (m) return Number(m[2]) <= 5 ? `conv${m[2]}` : `fc${m[2]}`;
  return base;
}

/** The table's rows, in network order. */
export function blocks(config: ModelConfig): string[] {
  const rows: string[] = [];
  for (const l of config.layers) {
    const b = blockOf(l.name);
    if (!rows.includes(b)) rows.push(b);
  }
  return rows;
}
