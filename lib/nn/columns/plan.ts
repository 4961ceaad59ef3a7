// The paper's two columns as a plan (section 3.2, figure 2), pure and allocation-free: which
// piece of each layer lives on which column, which block of each single-device parameter each
// column holds (and the one mapping between the two layouts), and the bytes a step moves
// between the columns. columns/network.ts runs the plan; which columns a layer reads comes
// from the layer specs (groups), not from layer names.
import { NamedArray } from '../../io/safetensors';
import { expectArray } from '../model';
import { inferShapes, LayerSpec, ModelConfig, SampleShape } from '../spec';

export type Column = 0 | 1;
export const COLUMNS: readonly Column[] = [0, 1];
export const LABEL = ['a', 'b'] as const;

// ---------------------------------------------------------------- the plan

/**
 * How one layer spec runs on two columns:
 *   local  each column applies it to its own input (its half, or the whole image before conv1)
 *   cross  each column computes half of the outputs from both columns' inputs
 *   merge  the last fc: partial sums of both columns added on column A
 */
export interface ColumnStep {
  kind: 'local' | 'cross' | 'merge';
  spec: LayerSpec;
  /** per column: (C, H, W) or (F); the whole input while the columns still share the image */
  input: SampleShape;
  /** per column; for merge, the logits (classes) on column A */
  output: SampleShape;
  /** true when both columns get the whole image as input (up to the first conv or fc) */
  replicated: boolean;
  /** the single-device layer's input, (C, H, W) or (F) */
  fullInput: SampleShape;
}

const half = (s: SampleShape): SampleShape => [s[0] / 2, ...s.slice(1)];

/** Each layer's place on the two columns; throws for a model that does not split in two. */
export function columnPlan(config: ModelConfig): ColumnStep[] {
  if (config.options.columns !== 2)
    throw new Error(`two columns on two devices need a model with columns 2 (groups 2 in conv2, conv4, conv5 and the LRNs); this one has columns ${config.options.columns}`);
  const shapes = inferShapes(config);
  const last = config.layers.length - 1;
  let replicated = true;
  const steps = config.layers.map((l, i): ColumnStep => {
    const fullInput = i === 0 ? config.input : shapes[i - 1];
    const before = replicated;
    const input = before ? fullInput : half(fullInput);
    const cannot = (why: string) => new Error(`${l.name}: cannot split into two columns: ${why}`);
    let kind: ColumnStep['kind'] = 'local';
    if (l.type === 'conv' || l.type === 'fc') {
      const groups = l.type === 'conv' ? l.groups : 1;
      if (l.type === 'fc' && i === last) {
        if (replicated) throw cannot('the classifier needs the columns to have split before it');
        kind = 'merge';
      } else if (groups === 2) {
        if (replicated) throw cannot('groups 2 before any layer has split the columns');
        if (l.out % 2) throw cannot(`${l.out} kernels do not halve`);
      } else if (groups === 1) {
        if (l.out % 2) throw cannot(`${l.out} kernels do not halve`);
        kind = replicated ? 'local' : 'cross';
        replicated = false;
      } else throw cannot(`groups ${groups} (only 1 or 2 map onto two columns)`);
    } else if (l.type === 'lrn' && !replicated && l.groups !== 2) {
      throw cannot(`an LRN window over both columns (groups ${l.groups}; the paper's is 2)`);
    }
    if (!before && fullInput[0] % 2) throw cannot(`its ${fullInput[0]} input channels do not halve`);
    const output = kind === 'merge' ? shapes[i] : replicated ? shapes[i] : half(shapes[i]);
    return { kind, spec: l, input, output, replicated: before, fullInput };
  });
  if (steps[last]?.kind !== 'merge') throw new Error('two columns need the model to end in a fully connected classifier');
  return steps;
}

// ---------------------------------------------------------------- parameter layout

/** One column's block of a single-device parameter. */
export interface ParamPiece {
  /** the split parameter, e.g. 'conv3.a.weight.from_b' */
  name: string;
  column: Column;
  /** the single-device parameter it is a block of, e.g. 'conv3.weight' */
  of: string;
  /** the single-device parameter's shape */
  shape: number[];
  /** [start, end) along dim 0 (output units) and dim 1 (inputs); the other dims whole */
  rows: [number, number];
  cols: [number, number];
}

/** Which block of which single-device parameter every split parameter is. */
export function paramPieces(config: ModelConfig): ParamPiece[] {
  const pieces: ParamPiece[] = [];
  for (const step of columnPlan(config)) {
    const l = step.spec;
    if (l.type !== 'conv' && l.type !== 'fc') continue;
    const inputs = l.type === 'conv' ? step.fullInput[0] / l.groups : step.fullInput[0];
    const wshape = l.type === 'conv' ? [l.out, inputs, l.kernel, l.kernel] : [l.out, inputs];
    const halfOf = (n: number, c: Column): [number, number] => [(c * n) / 2, ((c + 1) * n) / 2];
    const all = (n: number): [number, number] => [0, n];
    for (const c of COLUMNS) {
      const col = `${l.name}.${LABEL[c]}`;
      const w = (name: string, rows: [number, number], cols: [number, number]) =>
        pieces.push({ name, column: c, of: `${l.name}.weight`, shape: wshape, rows, cols });
      const b = (rows: [number, number]) => pieces.push({ name: `${col}.bias`, column: c, of: `${l.name}.bias`, shape: [l.out], rows, cols: [0, 1] });
      if (step.kind === 'local') {
        w(`${col}.weight`, halfOf(l.out, c), all(inputs));
        b(halfOf(l.out, c));
      } else if (step.kind === 'cross') {
        const other = (1 - c) as Column;
        w(`${col}.weight`, halfOf(l.out, c), halfOf(inputs, c));
        w(`${col}.weight.from_${LABEL[other]}`, halfOf(l.out, c), halfOf(inputs, other));
        b(halfOf(l.out, c));
      } else {
        w(`${col}.weight`, all(l.out), halfOf(inputs, c));
        if (c === 0) b(all(l.out));  // the bias is added once, where the logits are summed
      }
    }
  }
  return pieces;
}

function pieceShape(p: ParamPiece): number[] {
  const rest = p.shape.length === 1 ? [] : [p.cols[1] - p.cols[0], ...p.shape.slice(2)];
  return [p.rows[1] - p.rows[0], ...rest];
}

/**
 * The single-device parameter set as the two columns' (to = 'columns'), or back (to =
 * 'single'): the one mapping behind building, checkpoints and the equivalence tests. Works
 * for anything laid out like the parameters (SGD velocities too). `source` names the origin
 * in errors (a checkpoint file).
 */
export function convertParams(config: ModelConfig, arrays: ReadonlyMap<string, NamedArray>, to: 'columns' | 'single', source = 'parameters'): Map<string, NamedArray> {
  const pieces = paramPieces(config);
  const out = new Map<string, NamedArray>();
  const get = (name: string, shape: number[]) => expectArray(arrays, name, shape, source);
  for (const p of pieces) {
    const shape = pieceShape(p);
    const whole = p.shape.length === 1 ? 1 : p.shape[1];
    const inner = p.shape.slice(2).reduce((a, b) => a * b, 1);
    const width = (p.cols[1] - p.cols[0]) * inner;
    // rows of the block are runs of `width` values in the single-device tensor
    const offset = (r: number) => (r * whole + (p.shape.length === 1 ? 0 : p.cols[0])) * inner;
    if (to === 'columns') {
      const src = get(p.of, p.shape);
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let r = p.rows[0]; r < p.rows[1]; r++) data.set(src.subarray(offset(r), offset(r) + width), (r - p.rows[0]) * width);
      out.set(p.name, { shape, data });
    } else {
      const src = get(p.name, shape);
      if (!out.has(p.of)) out.set(p.of, { shape: [...p.shape], data: new Float32Array(p.shape.reduce((a, b) => a * b, 1)) });
      const dst = out.get(p.of)!.data;
      for (let r = p.rows[0]; r < p.rows[1]; r++) dst.set(src.subarray((r - p.rows[0]) * width, (r - p.rows[0] + 1) * width), offset(r));
    }
  }
  return out;
}

// ---------------------------------------------------------------- bytes between the columns

export interface Traffic {
  /** activations (and fc8's partial logits) sent to the other column in the forward pass */
  forward: number;
  /** their gradients, sent back in the backward pass */
  backward: number;
}

export interface TrafficRow extends Traffic {
  layer: string;
  what: string;
}

/**
 * The bytes a training step on a batch of n must move between the columns, from the paper's
 * connectivity alone: for conv3, fc6 and fc7 each column sends its whole input half to the
 * other (2 x N x half); for fc8 column B sends its partial logits (N x classes) to A. The
 * backward pass returns a gradient of the same size for each. float32: 4 bytes a value.
 */
export function columnTraffic(config: ModelConfig, n: number): { rows: TrafficRow[]; forward: number; backward: number; total: number } {
  const rows: TrafficRow[] = [];
  for (const s of columnPlan(config)) {
    const size = (shape: SampleShape) => shape.reduce((a, b) => a * b, 1);
    if (s.kind === 'cross') {
      const bytes = 2 * n * size(s.input) * 4;
      rows.push({ layer: s.spec.name, what: `each column's input (${s.input.join('x')}) to the other`, forward: bytes, backward: bytes });
    } else if (s.kind === 'merge') {
      const bytes = n * size(s.output) * 4;
      rows.push({ layer: s.spec.name, what: `column B's partial logits (${s.output.join('x')}) to A`, forward: bytes, backward: bytes });
    }
  }
  const forward = rows.reduce((a, r) => a + r.forward, 0), backward = rows.reduce((a, r) => a + r.backward, 0);
  return { rows, forward, backward, total: forward + backward };
}
