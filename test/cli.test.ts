// The command line as a user runs it: `node lib/cli.js info [--json]`, help, bad commands.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const cli = path.join(__dirname, '..', 'lib', 'cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

test('info --json reports the version, the CPU backend with its BLAS and threads, cuda and cudnn', (t) => {
  const r = run('info', '--json');
  t.is(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  t.is(info.version, require('../package.json').version);
  t.true(info.cpu.usable);
  t.is(typeof info.cpu.blas, 'string');
  t.true(info.cpu.blas.length > 0);
  t.true(info.cpu.threads >= 1);
  t.is(typeof info.cuda.built, 'boolean');
  t.is(typeof info.cuda.usable, 'boolean');
  t.true(Array.isArray(info.cuda.devices));
  if (!info.cuda.usable) t.true(info.cuda.reason.length > 0, 'an unusable CUDA says why');
  t.is(typeof info.cudnn.built, 'boolean');
});

test('info prints one readable line per backend', (t) => {
  const r = run('info');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^alexnet-native \d+\.\d+\.\d+/);
  t.regex(r.stdout, /^cpu +usable: \d+ threads/m);
  t.regex(r.stdout, /^ +GEMM: /m);
  t.regex(r.stdout, /^cuda +(not built|built)/m);
  t.regex(r.stdout, /^cudnn +(not built|built)/m);
});

test('an unknown command or flag prints usage and exits non-zero', (t) => {
  const unknown = run('fly');
  t.is(unknown.status, 2);
  t.regex(unknown.stderr, /unknown command 'fly'/);
  t.regex(unknown.stderr, /usage: node lib\/cli\.js <command>/);
  const badFlag = run('info', '--jsn');
  t.is(badFlag.status, 2);
  t.regex(badFlag.stderr, /unknown flag for info: --jsn/);
  t.is(run('help').status, 0);
});
