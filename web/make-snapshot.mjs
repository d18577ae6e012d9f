// make-snapshot.mjs — build.py runs this with Node.js: a memory snapshot of a
// freshly started Pyodide (no package loaded; the standard library modules
// that installing and importing pytrigger need, imported), for worker.js to restore instead of starting
// CPython from scratch.
//
//   node web/make-snapshot.mjs <pyodide dir> <output file>
//
// Pyodide's snapshot API is private (`_makeSnapshot`, `makeMemorySnapshot`,
// `_loadSnapshot`): worker.js uses the file only behind a guard, checks its
// sha256 (build.py writes it into the worker), and boots normally when
// anything about it fails.
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [dir, out] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: node make-snapshot.mjs <pyodide dir> <output file>');
  process.exit(2);
}
const indexURL = path.resolve(dir) + path.sep;
const { loadPyodide } = await import(pathToFileURL(indexURL + 'pyodide.mjs').href);
const pyodide = await loadPyodide({ indexURL, _makeSnapshot: true, stdout: () => {}, stderr: () => {} });
// what installing a wheel and importing pytrigger would import from the standard
// library (nothing here may hold a JavaScript object: the snapshot refuses them)
pyodide.runPython('import difflib, email, importlib.metadata, tarfile, zipfile, encodings.cp437');
const snapshot = pyodide.makeMemorySnapshot();
writeFileSync(out, snapshot);
console.log(`snapshot: ${snapshot.length} bytes`);
