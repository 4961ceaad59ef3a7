// What a model costs per layer, from its spec alone: forward FLOPs and the memory of outputs
// and parameters at a batch size (`summary --batch-size N`). FLOPs count a multiply-add as two
// (conv, fc); elementwise work counts one per operation: ReLU/tanh/dropout one per output,
// max pooling one comparison per window element, LRN 2 * size + 3 per output (square and add
// over the window, scale, power, divide). Memory is float32: 4 bytes a value.
import { inferShapes, LayerSpec, ModelConfig, SampleShape, summarize, SummaryRow } from './spec';

export interface CostRow extends SummaryRow {
  /** forward FLOPs for the whole batch */
  flops: number;
  /** bytes of the layer's output for the whole batch */
  activationBytes: number;
  /** bytes of its weights and biases */
  parameterBytes: number;
}

const count = (s: SampleShape) => s.reduce((a, b) => a * b, 1);

/** Forward FLOPs of one sample through layer `l`, from its input and output shapes. */
export function layerFlops(l: LayerSpec, input: SampleShape, output: SampleShape): number {
  const n = count(output);
  switch (l.type) {
    case 'conv': return 2 * n * (input[0] / l.groups) * l.kernel * l.kernel;
    case 'fc': return 2 * input[0] * l.out;
    case 'lrn': return n * (2 * l.size + 3);
    case 'maxpool': return n * l.kernel * l.kernel;
    case 'relu': case 'tanh': case 'dropout': return n;
    case 'flatten': return 0;
  }
}

/** Each layer's summary row with its FLOPs and memory at `batch`, and the totals. */
export function layerCosts(config: ModelConfig, batch: number): { rows: CostRow[]; total: { params: number; flops: number; activationBytes: number; parameterBytes: number } } {
  const shapes = inferShapes(config);
  const { rows } = summarize(config);
  const out = rows.map((r, i) => ({
    ...r,
    flops: batch * layerFlops(config.layers[i], i === 0 ? config.input : shapes[i - 1], shapes[i]),
    activationBytes: 4 * batch * count(shapes[i]),
    parameterBytes: 4 * r.params,
  }));
  const sum = (k: 'params' | 'flops' | 'activationBytes' | 'parameterBytes') => out.reduce((a, r) => a + r[k], 0);
  return { rows: out, total: { params: sum('params'), flops: sum('flops'), activationBytes: sum('activationBytes'), parameterBytes: sum('parameterBytes') } };
}

/** 1.23 GFLOP, 456 MFLOP. */
export function formatFlops(f: number): string {
  if (!f) return '';
  const [unit, div] = f >= 1e12 ? ['TFLOP', 1e12] : f >= 1e9 ? ['GFLOP', 1e9] : f >= 1e6 ? ['MFLOP', 1e6] : f >= 1e3 ? ['kFLOP', 1e3] : ['FLOP', 1];
  return `${(f / (div as number)).toPrecision(3)} ${unit}`;
}

/** 12.3 MiB. */
export function formatBytes(b: number): string {
  if (!b) return '';
  const [unit, div] = b >= 2 ** 30 ? ['GiB', 2 ** 30] : b >= 2 ** 20 ? ['MiB', 2 ** 20] : b >= 2 ** 10 ? ['KiB', 2 ** 10] : ['B', 1];
  return `${(b / (div as number)).toPrecision(3)} ${unit}`;
}

/** The summary table with FLOPs and memory columns at `batch`. */
export function formatCosts(config: ModelConfig, batch: number): string {
  const { rows, total } = layerCosts(config, batch);
  const shape = (s: SampleShape) => (s.length === 3 ? `${s[1]}x${s[2]}x${s[0]}` : String(s[0]));
  const row = (cells: string[]) => cells[0].padEnd(10) + cells[1].padEnd(9) + cells.slice(2).map((c, i) => c.padStart([14, 13, 13, 13, 12][i])).join('');
  const lines = [
    `${config.name} (input ${shape(config.input)}), forward pass at batch ${batch}`,
    row(['layer', 'type', 'output', 'parameters', 'FLOPs', 'outputs', 'weights']),
    ...rows.map((r) => row([r.name, r.type, shape(r.output), r.params ? r.params.toLocaleString('en-US') : '', formatFlops(r.flops), formatBytes(r.activationBytes), formatBytes(r.parameterBytes)])),
    row(['total', '', '', total.params.toLocaleString('en-US'), formatFlops(total.flops), formatBytes(total.activationBytes), formatBytes(total.parameterBytes)]),
    `training holds about ${formatBytes(3 * total.parameterBytes)} of weights, their gradients and SGD velocities, and ${formatBytes(2 * total.activationBytes)} of outputs and their gradients; a step is about 3x the forward FLOPs`,
  ];
  return lines.join('\n');
}
