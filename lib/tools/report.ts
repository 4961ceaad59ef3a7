// A training run as one HTML page: the curves from metrics.jsonl (as inline SVG), the conv1
// filters and sample predictions (PNGs beside the page). Opens in any browser, offline.
import { DeviceLike } from '../core/device';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { ShardReader } from '../data/augment';
import { openPrepared, readLabels } from '../data/format';
import { loadCheckpoint } from '../train/checkpoint';
import { EpochMetrics } from '../train/metrics';
import { chwToHwc, classify, filterImage, loadPredictor } from './predict';

interface Series {
  name: string;
  color: string;
  values: number[];
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A line chart of series by epoch (1..n) as SVG; `log` plots log10 of positive values. */
export function lineChart(title: string, series: Series[], o: { log?: boolean; percent?: boolean } = {}): string {
  const W = 460, H = 260, L = 56, R = 12, T = 28, B = 36;
  const n = Math.max(...series.map((s) => s.values.length));
  const tf = (v: number) => (o.log ? Math.log10(v) : v);
  const all = series.flatMap((s) => s.values.filter((v) => Number.isFinite(tf(v)))).map(tf);
  let lo = Math.min(...all), hi = Math.max(...all);
  if (!all.length) (lo = 0), (hi = 1);
  if (hi === lo) (lo -= 0.5), (hi += 0.5);
  if (!o.log && lo > 0 && lo < hi / 3) lo = 0;
  const x = (i: number) => L + (n <= 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
  const y = (v: number) => T + (H - T - B) * (1 - (tf(v) - lo) / (hi - lo));
  const fmt = (v: number) => (o.percent ? `${(100 * v).toFixed(0)}%` : o.log ? v.toExponential(0) : +v.toPrecision(3) + '');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => (o.log ? 10 ** (lo + f * (hi - lo)) : lo + f * (hi - lo)));
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#888"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#888"/>`];
  for (const t of ticks)
    parts.push(`<line x1="${L}" y1="${y(t)}" x2="${W - R}" y2="${y(t)}" stroke="#eee"/><text x="${L - 4}" y="${y(t) + 4}" text-anchor="end" font-size="10">${fmt(t)}</text>`);
  const step = Math.max(1, Math.ceil(n / 10));
  for (let i = 0; i < n; i += step) parts.push(`<text x="${x(i)}" y="${H - B + 14}" text-anchor="middle" font-size="10">${i + 1}</text>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle" font-size="11">epoch</text>`);
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => (Number.isFinite(tf(v)) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : '')).filter(Boolean);
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.5" fill="${s.color}"/>`);
    parts.push(`<rect x="${W - R - 110}" y="${T + 4 + k * 16}" width="10" height="10" fill="${s.color}"/><text x="${W - R - 96}" y="${T + 13 + k * 16}" font-size="11">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function readMetrics(run: string): EpochMetrics[] {
  const file = path.join(run, 'metrics.jsonl');
  if (!fs.existsSync(file)) throw new Error(`${run}: no metrics.jsonl here; give --run the --out folder of a training run`);
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  if (!lines.length) throw new Error(`${file} is empty: the run has not finished an epoch yet`);
  return lines.map((l, i) => {
    try {
      return JSON.parse(l) as EpochMetrics;
    } catch {
      throw new Error(`${file}:${i + 1}: not a JSON line`);
    }
  });
}

/** Writes OUT/index.html (with conv1.png and sample-N.png beside it) and returns its path. */
export async function writeReport(run: string, out: string, o: { samples?: number; device?: DeviceLike } = {}): Promise<string> {
  const metrics = readMetrics(run);
  const ckFile = ['best.safetensors', 'last.safetensors'].map((f) => path.join(run, f)).find((f) => fs.existsSync(f));
  if (!ckFile) throw new Error(`${run}: no best.safetensors or last.safetensors to draw the filters and predictions from`);
  fs.mkdirSync(out, { recursive: true });
  const ck = loadCheckpoint(ckFile);
  const conv = ck.config.layers.find((l) => l.type === 'conv')!;
  const w = ck.weights.get(`${conv.name}.weight`)!;
  await filterImage(w.data, w.shape, ck.config.options.columns, path.join(out, 'conv1.png'), 4);

  // sample predictions on validation images of the data the run trained on, where it is at hand
  const samples: string[] = [];
  let samplesNote = '';
  const data = ck.input?.data;
  if (!ck.input) samplesNote = 'This checkpoint does not record its training data, so there are no sample predictions.';
  else if (!data || !fs.existsSync(path.join(data, 'index.json'))) samplesNote = `The training data (${esc(String(data))}) is not at hand, so there are no sample predictions.`;
  else {
    const prepared = openPrepared(data);
    const split = prepared.index.splits.val ?? prepared.index.splits.train;
    const reader = new ShardReader(prepared.dir, prepared.index, split);
    const labels = readLabels(prepared.dir, split);
    const { net, input } = loadPredictor(ckFile, o.device, ck);
    try {
      const count = Math.min(o.samples ?? 8, split.count);
      for (let k = 0; k < count; k++) {
        const i = Math.floor((k * split.count) / count);
        const img = Uint8Array.from(reader.read(i));
        const top = classify(net, input, img, { k: 5, device: o.device });
        const size = input.size;
        const png = `sample-${k + 1}.png`;
        await sharp(chwToHwc(img, size), { raw: { width: size, height: size, channels: 3 } }).resize(128, 128, { kernel: 'nearest' }).png().toFile(path.join(out, png));
        const truth = input.classes[labels[i]];
        const rows = top.map((t) => `<tr class="${t.index === labels[i] ? 'hit' : ''}"><td>${esc(t.class)}</td><td><div class="bar" style="width:${(100 * t.probability).toFixed(1)}px"></div></td><td>${(100 * t.probability).toFixed(1)}%</td></tr>`);
        samples.push(`<figure><img src="${png}" width="128" height="128" alt="validation image ${i}"><figcaption>${esc(truth)}</figcaption><table>${rows.join('')}</table></figure>`);
      }
    } finally {
      net.dispose();
      reader.close();
    }
  }

  const last = metrics[metrics.length - 1];
  const best = metrics.reduce((b, m) => (m.val_top1_error < b.val_top1_error ? m : b), metrics[0]);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Training report: ${esc(path.basename(path.resolve(run)))}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1000px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.samples { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; width: 230px; } figcaption { font-weight: bold; margin: 4px 0; }
table { border-collapse: collapse; font-size: 12px; } td { padding: 1px 4px; }
tr.hit td:first-child { color: #0a7d26; font-weight: bold; }
.bar { height: 9px; background: #3b6fd8; }
code { background: #f3f3f3; padding: 1px 4px; }
</style></head><body>
<h1>Training report: <code>${esc(path.resolve(run))}</code></h1>
<p>${esc(ck.config.name)} (width ${ck.config.options.width}, crop ${ck.config.options.crop}, ${ck.config.options.classes} classes,
${ck.config.options.activation}${ck.config.options.lrn ? ', LRN' : ''}${ck.config.options.dropout ? ', dropout' : ''}), ${metrics.length} epoch(s).
Last epoch: validation top-1 error ${(100 * last.val_top1_error).toFixed(1)}%, top-5 error ${(100 * last.val_top5_error).toFixed(1)}%,
${last.images_per_second.toFixed(0)} images/s. Best top-1 error ${(100 * best.val_top1_error).toFixed(1)}% at epoch ${best.epoch}.</p>
<h2>Training curves</h2>
<div class="charts">
${lineChart('Loss', [{ name: 'train loss', color: '#d9534f', values: metrics.map((m) => m.train_loss) }])}
${lineChart('Error', [
    { name: 'train top-1', color: '#f0ad4e', values: metrics.map((m) => m.train_top1_error) },
    { name: 'val top-1', color: '#3b6fd8', values: metrics.map((m) => m.val_top1_error) },
    { name: 'val top-5', color: '#5cb85c', values: metrics.map((m) => m.val_top5_error) },
  ], { percent: true })}
${lineChart('Learning rate', [{ name: 'lr', color: '#6f42c1', values: metrics.map((m) => m.lr) }], { log: true })}
</div>
<h2>First-layer filters (${w.shape[0]} kernels of ${w.shape[2]}x${w.shape[3]}x${w.shape[1]}, from <code>${esc(path.basename(ckFile))}</code>)</h2>
<img src="conv1.png" alt="conv1 filters">
<h2>Sample predictions (top 5; the true class in green)</h2>
${samples.length ? `<div class="samples">${samples.join('\n')}</div>` : `<p>${samplesNote}</p>`}
</body></html>
`;
  const file = path.join(out, 'index.html');
  fs.writeFileSync(file, html);
  return file;
}
