// Static estimates of the CUDA GEMM kernels, for every version (ALEXNET_GEMM=v1|v2|tf32|
// 3xtf32), read from the compiler instead of a GPU: registers, spills and shared memory from
// `ptxas -v`, resident blocks per SM from those, and the instruction mix of the inner K loop
// read from the PTX (the loop, from a label to the branch back to it, that holds the most
// FMA / mma instructions): FMAs or mma per iteration, global and shared loads per FMA, and
// integer divisions or remainders inside the loop. Then, per AlexNet layer and pass at
// --batch, the tile, grid, split-K and waves each version's host code chooses on an H100
// (132 SMs). These are estimates until a GPU measures the kernels (benchmarks/gpu.sh).
//   node benchmarks/static.js [--arch 90] [--batch 128] [--out bench-results/static]
// Needs nvcc (/usr/local/cuda/bin or PATH); writes static.md and static.json into --out.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flag } from './_common';

const arch = flag('arch', '90');
const batch = Number(flag('batch', '128'));
const out = flag('out', path.join('bench-results', 'static'));
const root = path.join(__dirname, '..');
const nvcc = fs.existsSync('/usr/local/cuda/bin/nvcc') ? '/usr/local/cuda/bin/nvcc' : 'nvcc';
const sms = 132;  // H100 SXM, as the split-K rules are evaluated below

interface Kernel {
  file: string; mangled: string; version: string; tile: string; op: string;
  registers: number; spillBytes: number; stackBytes: number; smem: number; blocksPerSm: number;
  loop: LoopMix | null;
}
interface LoopMix {
  instructions: number; fma: number; mma: number; ldGlobal: number; ldShared: number; ldShared128: number;
  stShared: number; cpAsync: number; divRem: number; cvtTf32: number; barriers: number;
}

function compile(file: string): { ptxas: string; ptx: string } {
  const dir = path.join(out, 'build', path.basename(file, '.cu'));
  fs.mkdirSync(dir, { recursive: true });
  const args = [`-arch=sm_${arch}`, '-std=c++17', '-O3', '--expt-relaxed-constexpr', '-DALEXNET_HAVE_CUDA=1',
    `-I${path.join(root, 'native/include')}`, `-I${path.join(root, 'native/cuda')}`, '-cubin', '-o', path.join(dir, 'out.cubin'),
    '-Xptxas', '-v', '--keep', '--keep-dir', dir, path.join(root, 'native/cuda', file)];
  console.log(`$ nvcc ${args.join(' ')}`);
  const r = spawnSync(nvcc, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`nvcc failed on ${file}:\n${r.stderr}${r.error ? r.error.message : ''}`);
  const ptxFile = fs.readdirSync(dir).find((f) => f.endsWith('.ptx'));
  if (!ptxFile) throw new Error(`nvcc --keep left no .ptx in ${dir}`);
  return { ptxas: r.stdout + r.stderr, ptx: fs.readFileSync(path.join(dir, ptxFile), 'utf8') };
}

// What a mangled kernel name says: version and tile, and which op (by its operand functors).
function describeKernel(file: string, m: string): { version: string; tile: string; op: string } | null {
  let version: string, tile: string;
  const v2 = /tile_gemm2_kernelILi(\d+)ELNS0_7ComputeE(\d)E/.exec(m);
  if (v2) {
    version = ['v2', 'tf32', '3xtf32'][Number(v2[2])];
    tile = `${v2[1]}x128x16`;
  } else if (/tile_gemm_kernelI/.test(m)) {
    if (/ELb1EEEv/.test(m)) return null;  // v1's split-K twin: the same loop, another epilogue
    version = 'v1';
    tile = '128x128x8';
  } else {
    return null;
  }
  const trans = (name: string) => {
    const t = new RegExp(`${name}ILb(\\d)E`).exec(m);
    return t ? (t[1] === '1' ? 'T' : 'N') : '?';
  };
  let op: string;
  if (/ForwardWeights/.test(m)) op = 'conv forward';
  else if (/DataWeights/.test(m)) op = 'conv backward data';
  else if (/FilterGradients/.test(m)) op = 'conv backward filter';
  else if (/StoreBias/.test(m)) op = 'linear forward';
  else if (/ScaledStore/.test(m)) op = `gemm ${trans('MatrixA')}${trans('MatrixB')}`;
  else if (/MatrixAILb1E/.test(m)) op = 'linear backward weight';
  else op = 'linear backward data';
  return { version, tile, op };
}

// Resident 256-thread blocks per SM on sm_80/sm_90: registers (allocated per warp in units of
// 256), shared memory (228 KiB per SM, 1 KiB reserved per block), 2048 threads, 32 blocks.
function blocksPerSm(registers: number, smem: number): number {
  const perWarp = Math.ceil((Math.max(registers, 1) * 32) / 256) * 256;
  const byRegs = Math.floor(Math.floor(65536 / perWarp) / 8);
  const bySmem = Math.floor((228 * 1024) / (smem + 1024));
  return Math.min(byRegs, bySmem, 2048 / 256, 32);
}

function loopMix(body: string[]): LoopMix | null {
  const labels = new Map<string, number>();
  body.forEach((line, i) => {
    const l = /^\s*(\$L__\w+):/.exec(line);
    if (l) labels.set(l[1], i);
  });
  const count = (from: number, to: number): LoopMix => {
    const c: LoopMix = { instructions: 0, fma: 0, mma: 0, ldGlobal: 0, ldShared: 0, ldShared128: 0, stShared: 0, cpAsync: 0, divRem: 0, cvtTf32: 0, barriers: 0 };
    for (let i = from; i <= to; i++) {
      const s = body[i].trim();
      if (!s.endsWith(';') || s.startsWith('//') || s.startsWith('.') || s.startsWith('{') || s.startsWith('}')) continue;
      c.instructions++;
      if (/^(@!?%p\d+\s+)?fma\.rn(\.ftz)?\.f32/.test(s)) c.fma++;
      if (/\bmma\.sync/.test(s)) c.mma++;
      if (/\bld\.global/.test(s)) c.ldGlobal++;
      if (/\bld\.shared/.test(s)) {
        c.ldShared++;
        if (/\.v4\.(f32|u32|b32)/.test(s)) c.ldShared128++;
      }
      if (/\bst\.shared/.test(s)) c.stShared++;
      if (/\bcp\.async\.(ca|cg)/.test(s)) c.cpAsync++;
      if (/\b(div|rem)\.(s|u)(32|64)\b/.test(s)) c.divRem++;
      if (/cvt\.rna\.tf32\.f32/.test(s)) c.cvtTf32++;
      if (/\bbar\.sync|\bbarrier\.sync/.test(s)) c.barriers++;
    }
    return c;
  };
  let best: LoopMix | null = null, bestSpan = 0;
  body.forEach((line, i) => {
    const b = /\bbra(\.uni)?\s+(\$L__\w+);/.exec(line);
    if (!b) return;
    const start = labels.get(b[2]);
    if (start === undefined || start >= i) return;  // a forward branch
    const c = count(start, i);
    const work = c.fma + c.mma, bestWork = best ? best.fma + best.mma : -1;
    if (work > bestWork || (work === bestWork && i - start > bestSpan)) {
      best = c;
      bestSpan = i - start;
    }
  });
  return best && (best as LoopMix).fma + (best as LoopMix).mma > 0 ? best : null;
}

function kernelsOf(file: string): Kernel[] {
  const { ptxas, ptx } = compile(file);
  const res = new Map<string, { registers: number; spill: number; stack: number; smem: number }>();
  let current = '';
  for (const line of ptxas.split('\n')) {
    const f = /(?:Compiling entry function|Function properties for) '?([\w$]+)'?/.exec(line);
    if (f) {
      current = f[1];
      if (!res.has(current)) res.set(current, { registers: 0, spill: 0, stack: 0, smem: 0 });
    }
    const s = /(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads/.exec(line);
    if (s && current) Object.assign(res.get(current)!, { stack: Number(s[1]), spill: Number(s[2]) + Number(s[3]) });
    const u = /Used (\d+) registers.*?(?:(\d+) bytes smem)?/.exec(line);
    if (u && current) {
      const smem = /(\d+) bytes smem/.exec(line);
      Object.assign(res.get(current)!, { registers: Number(u[1]), smem: smem ? Number(smem[1]) : 0 });
    }
  }
  // PTX: each .entry's body up to the next .entry
  const entries: Array<{ name: string; body: string[] }> = [];
  for (const line of ptx.split('\n')) {
    const e = /\.entry\s+([\w$]+)\s*\(/.exec(line);
    if (e) entries.push({ name: e[1], body: [] });
    else if (entries.length) entries[entries.length - 1].body.push(line);
  }
  const kernels: Kernel[] = [];
  for (const { name, body } of entries) {
    const d = describeKernel(file, name);
    if (!d) continue;
    const r = res.get(name) ?? { registers: 0, spill: 0, stack: 0, smem: 0 };
    kernels.push({ file, mangled: name, ...d, registers: r.registers, spillBytes: r.spill, stackBytes: r.stack, smem: r.smem,
      blocksPerSm: blocksPerSm(r.registers, r.smem), loop: loopMix(body) });
  }
  return kernels;
}

// ---- the host rules of gemm_tile.cuh (v1) and gemm_tile2.cuh (v2, tf32, 3xtf32) ----
function v1Plan(groups: number, M: number, N: number, K: number) {
  const tiles = groups * Math.ceil(M / 128) * Math.ceil(N / 128);
  const wanted = Math.ceil(528 / tiles), most = Math.ceil(K / 256);
  let splits = Math.max(1, Math.min(64, wanted, most));
  const chunk = Math.ceil(Math.ceil(K / splits) / 8) * 8;
  splits = Math.ceil(K / chunk);
  return { bm: 128, tiles, splits, chunk };
}
function v2Plan(groups: number, M: number, N: number, K: number) {
  const pad = (t: number) => Math.ceil(M / t) * t - M;
  const bm = pad(64) < pad(128) ? 64 : 128;
  const tiles = groups * Math.ceil(M / bm) * Math.ceil(N / 128);
  const slots = 2 * sms, most = Math.min(128, Math.floor(K / 128));
  let best = 1, bestCost = Math.ceil(tiles / slots) * K;
  for (let s = 2; s <= most; s++) {
    const chunk = Math.ceil(Math.ceil(K / s) / 16) * 16, used = Math.ceil(K / chunk);
    const cost = Math.ceil((tiles * used) / slots) * chunk;
    if (cost < 0.9 * bestCost) {
      best = s;
      bestCost = cost;
    }
  }
  const chunk = Math.ceil(Math.ceil(K / best) / 16) * 16;
  return { bm, tiles, splits: Math.ceil(K / chunk), chunk };
}

const layers = [
  { name: 'conv1', c: 3, h: 227, k: 96, kernel: 11, stride: 4, pad: 0, groups: 1 },
  { name: 'conv2', c: 96, h: 27, k: 256, kernel: 5, stride: 1, pad: 2, groups: 2 },
  { name: 'conv3', c: 256, h: 13, k: 384, kernel: 3, stride: 1, pad: 1, groups: 1 },
  { name: 'conv4', c: 384, h: 13, k: 384, kernel: 3, stride: 1, pad: 1, groups: 2 },
  { name: 'conv5', c: 384, h: 13, k: 256, kernel: 3, stride: 1, pad: 1, groups: 2 },
];

function main(): void {
  fs.mkdirSync(out, { recursive: true });
  const kernels = ['conv.cu', 'linear.cu', 'gemm.cu'].flatMap(kernelsOf);
  const order = ['v1', 'v2', 'tf32', '3xtf32'];
  kernels.sort((a, b) => a.op.localeCompare(b.op) || order.indexOf(a.version) - order.indexOf(b.version) || a.tile.localeCompare(b.tile));
  const md: string[] = [];
  md.push(`Static estimates (nvcc ${nvccVersion()}, sm_${arch}; no GPU ran these): per kernel, from \`ptxas -v\` and the PTX of its inner K loop (one iteration = one K step of the tile: 8 deep for v1, 16 for the others).`);
  md.push('');
  md.push('| op | version | tile (M x N x K step) | registers | spills (bytes) | smem (bytes) | blocks/SM | FMA / iter | mma / iter | global loads / FMA | shared loads / FMA (128-bit) | cp.async / iter | integer div+rem in loop |');
  md.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const k of kernels) {
    const l = k.loop;
    // an m16n8k8 is 16*8*8 = 1024 multiply-adds of a warp, 32 per lane: loads per FMA-equivalent
    const fmaEq = l ? l.fma + 32 * l.mma : 0;
    const per = (x: number) => (l && fmaEq ? (x / fmaEq).toFixed(3) : '-');
    md.push(`| ${k.op} | ${k.version} | ${k.tile} | ${k.registers} | ${k.spillBytes} | ${k.smem} | ${k.blocksPerSm} | ${l ? l.fma : '-'} | ${l ? l.mma : '-'} | ${l ? per(l.ldGlobal + l.cpAsync) : '-'} | ${l ? `${per(l.ldShared)} (${l.ldShared128})` : '-'} | ${l ? l.cpAsync : '-'} | ${l ? l.divRem : '?'} |`);
  }
  md.push('');
  md.push(`Per AlexNet layer at batch ${batch} on ${sms} SMs: the tile height, blocks, split-K and waves (blocks / (SMs x blocks per SM)) each version's host code chooses; v2, tf32 and 3xtf32 share the rule (blocks/SM from the table above, the largest of the versions' kernels for the pass).`);
  md.push('');
  md.push('| layer | pass | GEMM M x N x K (x groups) | v1 tile, splits, blocks, waves | v2 tile, splits, blocks, waves (v2 / tf32 / 3xtf32 blocks/SM) |');
  md.push('| --- | --- | --- | --- | --- |');
  const plans: unknown[] = [];
  for (const l of layers) {
    const oh = Math.floor((l.h + 2 * l.pad - l.kernel) / l.stride) + 1;
    const cg = l.c / l.groups, kg = l.k / l.groups, rs = l.kernel * l.kernel;
    const passes = [
      { pass: 'forward', op: 'conv forward', M: kg, N: batch * oh * oh, K: cg * rs },
      { pass: 'backward data', op: 'conv backward data', M: cg, N: batch * l.h * l.h, K: kg * rs },
      { pass: 'backward filter', op: 'conv backward filter', M: kg, N: cg * rs, K: batch * oh * oh },
    ];
    for (const p of passes) {
      const a = v1Plan(l.groups, p.M, p.N, p.K), b = v2Plan(l.groups, p.M, p.N, p.K);
      const bps = (version: string, tile: string) => kernels.find((k) => k.op === p.op && k.version === version && k.tile.startsWith(tile))?.blocksPerSm ?? 0;
      const waves = (blocks: number, perSm: number) => (perSm ? (blocks / (sms * perSm)).toFixed(2) : '-');
      const v1Blocks = a.tiles * a.splits, v2Blocks = b.tiles * b.splits;
      const v2Bps = ['v2', 'tf32', '3xtf32'].map((v) => bps(v, `${b.bm}x`));
      md.push(`| ${l.name} | ${p.pass} | ${p.M} x ${p.N} x ${p.K}${l.groups > 1 ? ` (x${l.groups})` : ''} | 128, ${a.splits}, ${v1Blocks}, ${waves(v1Blocks, bps('v1', '128x'))} | ${b.bm}, ${b.splits}, ${v2Blocks}, ${waves(v2Blocks, v2Bps[0])} (${v2Bps.join(' / ')}) |`);
      plans.push({ layer: l.name, ...p, v1: a, v2: b });
    }
  }
  const text = md.join('\n');
  console.log(`\n${text}`);
  fs.writeFileSync(path.join(out, 'static.md'), `${text}\n`);
  fs.writeFileSync(path.join(out, 'static.json'), JSON.stringify({ arch, batch, sms, kernels, plans }, null, 2));
}

function nvccVersion(): string {
  const r = spawnSync(nvcc, ['--version'], { encoding: 'utf8' });
  const m = /release ([\d.]+)/.exec(r.stdout ?? '');
  return m ? m[1] : 'unknown';
}

main();
