// The shape of lib/: folders are layers, and imports only run downward (README: "The code,
// folder by folder"). Reads the TypeScript sources' import lines, so a new upward import or a
// circle fails here with the modules named.
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const LIB = path.join(__dirname, '..', 'lib');

/** Each folder's rank: a module may import its own folder and folders of lower rank only. */
const RANK: Record<string, number> = { core: 0, io: 1, nn: 2, data: 2, train: 3, tools: 4, cli: 5, '.': 6 };

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Module (path under root, no extension) -> the modules under root it imports. */
function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const rel = (file: string) => path.relative(root, file).replace(/\.ts$/, '');
  for (const file of sources(root)) {
    const text = fs.readFileSync(file, 'utf8');
    const deps: string[] = [];
    // static imports and re-exports, import() and require() of relative paths; type-only ones count too
    for (const m of text.matchAll(/(?:from|import\(|require\()\s*'(\.{1,2}\/[^']*)'/g)) {
      const target = path.resolve(path.dirname(file), m[1]);
      const resolved = fs.existsSync(`${target}.ts`) ? `${target}.ts` : path.join(target, 'index.ts');
      if (!fs.existsSync(resolved)) throw new Error(`${rel(file)}: cannot resolve ${m[1]}`);
      deps.push(rel(resolved));
    }
    graph.set(rel(file), [...new Set(deps)]);
  }
  return graph;
}

const folder = (module: string) => (module.includes('/') ? module.split('/')[0] : '.');

/** Imports that run upward or sideways (into a folder of the same or a higher rank), and modules in unranked folders. */
function layerViolations(graph: Map<string, string[]>): string[] {
  const wrong: string[] = [];
  for (const [from, deps] of graph) {
    const f = folder(from);
    if (RANK[f] === undefined) wrong.push(`${from}: folder ${f} has no rank`);
    for (const to of deps) {
      const g = folder(to);
      if (g !== f && !(RANK[g] < RANK[f])) wrong.push(`${from} -> ${to}`);
    }
  }
  return wrong;
}

/** Every import circle, as 'a -> b -> a'. */
function circles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const found: string[] = [];
  const visit = (m: string, trail: string[]) => {
    if (state.get(m) === 'done') return;
    if (state.get(m) === 'open') {
      found.push([...trail.slice(trail.indexOf(m)), m].join(' -> '));
      return;
    }
    state.set(m, 'open');
    for (const d of graph.get(m) ?? []) visit(d, [...trail, m]);
    state.set(m, 'done');
  };
  for (const m of graph.keys()) visit(m, []);
  return found;
}

test('lib/: no module imports a folder above or beside its own', (t) => {
  const graph = importGraph(LIB);
  t.true(graph.size > 30, `read ${graph.size} modules under ${LIB}`);
  t.deepEqual(layerViolations(graph), []);
});

test('lib/: no import circle', (t) => {
  t.deepEqual(circles(importGraph(LIB)), []);
});

test('the layout checks catch an upward import, a sideways one and a circle', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layout-'));
  try {
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    };
    write('core/x.ts', "import { y } from '../cli/y';\n");
    write('cli/y.ts', 'export const y = 1;\n');
    write('data/d.ts', "import { a } from '../nn/a';\n");
    write('nn/a.ts', "import { b } from './b';\nexport const a = 1;\n");
    write('nn/b.ts', "import type { a } from './a';\nexport const b = 1;\n");
    const graph = importGraph(dir);
    t.deepEqual(layerViolations(graph).sort(), ['core/x -> cli/y', 'data/d -> nn/a']);
    t.deepEqual(circles(graph), ['nn/a -> nn/b -> nn/a']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
