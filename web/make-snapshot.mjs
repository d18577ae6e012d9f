// make-snapshot.mjs — build.py runs this with Node.js: a memory snapshot of a
// freshly started Pyodide with pytrigger imported, for worker.js to restore
// instead of starting CPython and importing the package from scratch.
//
//   node web/make-snapshot.mjs <pyodide dir> <output file> [<pytrigger wheel>]
//
// With a wheel, its files are unpacked into site-packages and every module the
// browser runs (pytrigger.worker, pytrigger.pyscript and what they import) is
// imported before the snapshot is taken. The files themselves are not in the
// snapshot (Emscripten's file system lives in JavaScript, not in the wasm
// heap): worker.js skips loading the wheel after such a restore, so nothing may
// import from pytrigger lazily. Without a wheel, or when the heap with
// pytrigger in it would be over MAX_HEAP, only the standard library modules
// that installing and importing pytrigger need are imported.
//
// Pyodide's snapshot API is private (`_makeSnapshot`, `makeMemorySnapshot`,
// `_loadSnapshot`): worker.js uses the file only behind a guard, checks its
// sha256 (build.py writes it into the worker), and boots normally when
// anything about it fails.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

// pyodide#6254: the module's heap starts at 30 MiB whatever the snapshot asks
// for, and a larger snapshot fails to restore
const MAX_HEAP = 30 * 1024 * 1024;
// what installing a wheel and importing pytrigger would import from the standard
// library (nothing here may hold a JavaScript object: the snapshot refuses them)
const STDLIB = 'import difflib, email, importlib.metadata, tarfile, zipfile, encodings.cp437';
// pytrigger's modules the browser runs; the rest (collector, cli, simulate) never load there
const PRELOAD = `
import gc, importlib, sys, zipfile
with zipfile.ZipFile('/tmp/pytrigger.whl') as wheel:
    wheel.extractall(next(p for p in sys.path if p.endswith('site-packages')))
importlib.invalidate_caches()
import pytrigger, pytrigger.worker, pytrigger.pyscript, pytrigger.protocol
pytrigger.protocol.package_version()  # read from the dist-info now: it is not there after a restore
missing = [m for m in ('pytrigger.worker', 'pytrigger.pyscript') if m not in sys.modules]
assert not missing, missing
gc.collect()
`;

const [dir, out, wheel] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: node make-snapshot.mjs <pyodide dir> <output file> [<pytrigger wheel>]');
  process.exit(2);
}
const indexURL = path.resolve(dir) + path.sep;
const { loadPyodide } = await import(pathToFileURL(indexURL + 'pyodide.mjs').href);

async function make(withWheel) {
  const pyodide = await loadPyodide({ indexURL, _makeSnapshot: true, stdout: () => {}, stderr: () => {} });
  pyodide.runPython(STDLIB);
  if (withWheel) {
    pyodide.FS.writeFile('/tmp/pytrigger.whl', readFileSync(withWheel));
    pyodide.runPython(PRELOAD);
    pyodide.FS.unlink('/tmp/pytrigger.whl');
  }
  return pyodide.makeMemorySnapshot();
}

let snapshot = await make(wheel);
let what = wheel ? 'pytrigger imported' : 'standard library only';
// the header: "\0snp", its length (little-endian), then the heap
const heap = snapshot.length - new DataView(snapshot.buffer, snapshot.byteOffset).getUint32(4, true);
if (wheel && heap > MAX_HEAP) {
  console.log(`snapshot: with pytrigger the heap is ${heap} bytes (> ${MAX_HEAP}): made without it`);
  snapshot = await make(null);
  what = 'standard library only';
}
writeFileSync(out, snapshot);
console.log(`snapshot: ${snapshot.length} bytes, ${what}`);
