// Loads the Spread 5.0.1 golden captures (shared/spread-vectors) for the client-wire tests.
// The folder sits next to the repository; it is found by walking up from this file to the
// directory holding package.json, so the tests work from test/ (tsx) and dist/test/ alike.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ManifestEntry {
  file: string;
  conn: string;
  dir: 'c2s' | 's2c';
  kind: string;
  length: number;
  [field: string]: unknown;
}

export interface Scenario {
  name: string;
  dir: string;
  manifest: ManifestEntry[];
}

export interface Probe {
  name: string;
  note: string;
  c2s: string;
  s2c: string;
  end: string[];
}

function repoRoot(): string | undefined {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The vectors folder, or undefined (with the path looked at) when it is missing. */
export function findVectors(): { dir?: string; looked: string } {
  const root = repoRoot();
  const looked = root ? path.resolve(root, '../shared/spread-vectors') : `(no package.json above ${__dirname})`;
  return root && fs.existsSync(path.join(looked, 'README.md')) ? { dir: looked, looked } : { looked };
}

export function readHex(file: string): Buffer {
  return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
}

/** Scenarios that have a manifest.json (s1–s3). */
export function loadScenarios(vectorsDir: string): Scenario[] {
  return fs
    .readdirSync(vectorsDir)
    .filter((name) => fs.existsSync(path.join(vectorsDir, name, 'manifest.json')))
    .sort()
    .map((name) => ({
      name,
      dir: path.join(vectorsDir, name),
      manifest: JSON.parse(fs.readFileSync(path.join(vectorsDir, name, 'manifest.json'), 'utf8')) as ManifestEntry[],
    }));
}

export function loadProbes(vectorsDir: string): { dir: string; probes: Probe[] } {
  const dir = path.join(vectorsDir, 's4_handshake_probes');
  return { dir, probes: JSON.parse(fs.readFileSync(path.join(dir, 'probes.json'), 'utf8')) as Probe[] };
}

/** Connections of a scenario with their full streams, from the `<conn>_full_<dir>.hex` files. */
export function fullStreams(scenario: Scenario): Array<{ conn: string; dir: 'c2s' | 's2c'; bytes: Buffer }> {
  return fs
    .readdirSync(scenario.dir)
    .map((f) => /^(.*)_full_(c2s|s2c)\.hex$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map((m) => ({ conn: m[1]!, dir: m[2] as 'c2s' | 's2c', bytes: readHex(path.join(scenario.dir, m[0])) }));
}
