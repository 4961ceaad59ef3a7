#!/usr/bin/env node
// npm's install step for alexnet-native (plain JavaScript: it runs before any TypeScript is
// compiled). Uses the addon that is already here when it loads on this machine (the
// prebuild shipped in prebuilds/, or an earlier build in build/Release), touching no
// compiler; otherwise builds it from source with cmake-js, after checking that cmake and a
// C++ compiler exist so that a missing tool is named in one message instead of a stack trace.
//   ALEXNET_BUILD_FROM_SOURCE=1 (or `npm install --build-from-source`): always build.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const say = (line) => console.log(`alexnet-native: ${line}`);

/** The addon node-gyp-build would load here, and whether it loads: { file, error }. */
function existingAddon() {
  let file;
  try {
    file = require('node-gyp-build').path(root);
  } catch {
    const dir = path.join(root, 'prebuilds');
    const have = fs.existsSync(dir) ? fs.readdirSync(dir).join(', ') : '';
    return { error: have ? `no prebuild for ${process.platform}-${process.arch} (this package has ${have})` : 'no prebuilt addon here (`npm run prebuild` makes one)' };
  }
  // Loaded in a child process, so that one that fails to load (an older glibc, say) cannot
  // take this process with it. Loading starts no CUDA: that waits for the first call.
  const probe = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', file], { encoding: 'utf8' });
  if (probe.status === 0) return { file };
  const why = (probe.stderr || '').split('\n').find((l) => /Error|error/.test(l)) || `exit code ${probe.status}`;
  return { file, error: `${path.relative(root, file)} does not load here: ${why.trim()}` };
}

/** What building from source needs and this machine lacks, as readable phrases. */
function missingTools() {
  const missing = [];
  const cmake = spawnSync(process.env.npm_config_cmake_path || 'cmake', ['--version'], { encoding: 'utf8' });
  const version = cmake.status === 0 && /(\d+)\.(\d+)/.exec(cmake.stdout);
  if (!version) missing.push('cmake 3.18 or newer (not found)');
  else if (+version[1] < 3 || (+version[1] === 3 && +version[2] < 18)) missing.push(`cmake 3.18 or newer (found ${version[0]})`);
  const compilers = process.env.CXX ? [process.env.CXX] : ['c++', 'g++', 'clang++'];
  if (!compilers.some((cxx) => spawnSync(cxx, ['--version']).status === 0))
    missing.push(`a C++17 compiler (${process.env.CXX ? `CXX=${process.env.CXX} does not run` : 'none of c++, g++, clang++ found'})`);
  return missing;
}

function main() {
  const force = process.env.ALEXNET_BUILD_FROM_SOURCE === '1' || process.env.npm_config_build_from_source === 'true';
  if (!force) {
    const found = existingAddon();
    if (!found.error) {
      say(`using ${path.relative(root, found.file)}; nothing to compile`);
      return 0;
    }
    say(`${found.error}; building from source`);
  } else {
    say('building from source, as asked');
  }

  const missing = missingTools();
  if (missing.length) {
    console.error(
      `alexnet-native: building the native addon from source needs ${missing.join(' and ')}.\n` +
        '  Debian/Ubuntu: sudo apt-get install cmake g++ libopenblas-dev   (nvcc as well, for the CUDA backend)\n' +
        '  then: npm rebuild alexnet-native',
    );
    return 1;
  }
  const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  const build = spawnSync(process.execPath, [cmakeJs, 'rebuild', '--out', path.join(root, 'build')], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('alexnet-native: the source build failed (the compiler\'s messages are above)');
    return build.status || 1;
  }
  return 0;
}

process.exitCode = main();
