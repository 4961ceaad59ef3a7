// report: one HTML page of a run, checked by rendering it in headless Chromium.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { fit } from '../lib/train/loop';
import { preparedGradients } from './data/_fixtures';

const cli = path.join(__dirname, '..', 'lib', 'cli.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alexnet-report-'));
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((f) => fs.existsSync(f));

const run = path.join(dir, 'run');
const trained = fit({
  data: preparedGradients(76, 24, 6, 3), out: run, model: { width: 0.1, crop: 67, init: 'he', inputScale: 1 / 64 }, batchSize: 8,
  epochs: 3, lr: 0.01, momentum: 0.9, weightDecay: 0.0005, schedule: 'step', patience: 1, stepEvery: 2, device: 'cpu', seed: 3,
  resume: false, tenCrop: false, workers: 0, maxBatches: 0, progress: false, log: () => {},
});

test('report writes an HTML page with the curves, the filters and sample predictions', async (t) => {
  await trained;
  const r = spawnSync(process.execPath, [cli, 'report', '--run', run, '--samples', '4'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const out = path.join(run, 'report');
  const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
  t.is((html.match(/<svg /g) ?? []).length, 3, 'loss, error and learning-rate charts');
  t.regex(html, /aria-label="Loss"/);
  t.regex(html, /<img src="conv1\.png"/);
  t.is((html.match(/<img src="sample-\d\.png"/g) ?? []).length, 4);
  t.regex(html, /3 epoch\(s\)/);
  for (const f of ['conv1.png', 'sample-1.png', 'sample-4.png']) t.true(fs.existsSync(path.join(out, f)), f);

  const bad = spawnSync(process.execPath, [cli, 'report', '--run', dir], { encoding: 'utf8' });
  t.is(bad.status, 1);
  t.regex(bad.stderr, /no metrics\.jsonl here; give --run the --out folder of a training run/);
});

(chromium ? test : test.skip)(`report renders in headless Chromium${chromium ? '' : ' (skipped: no chromium; apt-get install chromium)'}`, async (t) => {
  await trained;
  const out = path.join(dir, 'rendered');
  t.is(spawnSync(process.execPath, [cli, 'report', '--run', run, '--out', out]).status, 0);
  const shot = path.join(dir, 'shot.png');
  const r = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${path.join(dir, 'profile')}`,
    '--window-size=1100,1500', `--screenshot=${shot}`, `file://${path.join(out, 'index.html')}`], { encoding: 'utf8', timeout: 60_000 });
  t.true(fs.existsSync(shot), `no screenshot: ${r.stderr.slice(-500)}`);
  // The page drew: many distinct colours (curves, filters, photos), not a blank or error page.
  const { data, info } = await sharp(shot).raw().toBuffer({ resolveWithObject: true });
  t.is(info.width, 1100);
  const colours = new Set<number>();
  for (let i = 0; i < data.length; i += info.channels * 7) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  t.true(colours.size > 500, `${colours.size} colours`);
  // and the DOM after load is the report, not an error page
  const dom = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', `--user-data-dir=${path.join(dir, 'profile2')}`,
    '--dump-dom', `file://${path.join(out, 'index.html')}`], { encoding: 'utf8', timeout: 60_000 });
  t.regex(dom.stdout, /Training report/);
});
