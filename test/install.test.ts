// npm's install step (native/install.js) as it runs in an installed package: a prebuild that
// loads means nothing is compiled; otherwise a source build, and where cmake or a compiler is
// missing, one message naming them and a failing exit code instead of a stack trace.
// Each case runs in a throwaway package folder, with PATH holding only node.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.join(__dirname, '..');

/** A package folder with native/install.js, the repo's node_modules, and `prebuilds` as given. */
function packageDir(prebuilds: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alexnet-install-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'alexnet-native', version: '0.0.0' }));
  fs.mkdirSync(path.join(dir, 'native'));
  fs.copyFileSync(path.join(repo, 'native', 'install.js'), path.join(dir, 'native', 'install.js'));
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  for (const [file, content] of Object.entries(prebuilds)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'prebuilds', file)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'prebuilds', file), content);
  }
  return dir;
}

function install(dir: string) {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'alexnet-path-'));
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  const env: NodeJS.ProcessEnv = { PATH: bin, HOME: os.tmpdir() };
  const r = spawnSync(process.execPath, [path.join(dir, 'native', 'install.js')], { cwd: dir, env, encoding: 'utf8' });
  fs.rmSync(bin, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: r.status, out: r.stdout + r.stderr };
}

// The addon this checkout loads, and what sits beside it (a prebuild's libgomp.so.1).
function workingAddon(): Record<string, Buffer> {
  const file: string = require('node-gyp-build').path(repo);
  const files: Record<string, Buffer> = {};
  for (const name of fs.readdirSync(path.dirname(file)))
    if (name === path.basename(file) || /\.so(\.\d+)*$/.test(name)) files[`${process.platform}-${process.arch}/${name}`] = fs.readFileSync(path.join(path.dirname(file), name));
  // node-gyp-build takes prebuilds/<platform>-<arch>/*.node, whatever the build's name was
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k.endsWith('.node') ? `${process.platform}-${process.arch}/alexnet-native.node` : k, v]));
}

test('a prebuild that loads is used, and nothing is compiled', (t) => {
  const r = install(packageDir(workingAddon()));
  t.is(r.status, 0, r.out);
  t.regex(r.out, /using prebuilds\/.+\.node; nothing to compile/);
});

test('no prebuild and no build tools: one message naming cmake and the compiler, and a failing exit', (t) => {
  const r = install(packageDir({}));
  t.is(r.status, 1, r.out);
  t.regex(r.out, /no prebuilt addon here/);
  t.regex(r.out, /needs cmake 3\.18 or newer \(not found\) and a C\+\+17 compiler/);
  t.regex(r.out, /npm rebuild alexnet-native/);
  t.notRegex(r.out, /^\s+at /m, 'no stack trace');
});

test('a prebuild for another platform only is named, then the source build is tried', (t) => {
  const r = install(packageDir({ 'sunos-sparc/alexnet-native.node': 'x' }));
  t.is(r.status, 1, r.out);
  t.regex(r.out, new RegExp(`no prebuild for ${process.platform}-${process.arch} \\(this package has sunos-sparc\\)`));
});

test('a prebuild that does not load here says why before the source build is tried', (t) => {
  const r = install(packageDir({ [`${process.platform}-${process.arch}/alexnet-native.node`]: 'not an ELF file' }));
  t.is(r.status, 1, r.out);
  t.regex(r.out, /alexnet-native\.node does not load here: .*(too short|invalid ELF)/);
  t.notRegex(r.out, /^\s+at /m, 'no stack trace');
});
