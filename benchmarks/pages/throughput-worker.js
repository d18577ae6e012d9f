// Benchmark-only (benchmarks/bench_browser.py): a module worker that boots the bundle's
// Pyodide and pytrigger wheel with pytrigger's own boot() (web/worker.js), writes
// benchmarks/bench_engine.py and the example configs into Pyodide's file system, and runs
// bench_engine.measure(n) there: the same generator, mix and timing as on CPython.
import './throughput-hide-worker-scope.js';
import { boot } from '/pytrigger/worker.js';

Object.defineProperty(globalThis, 'WorkerGlobalScope', globalThis.__benchWorkerGlobalScope);
delete globalThis.__benchWorkerGlobalScope;

let pyodide = null;
const handlers = {
  async boot({ files }) {
    const started = performance.now();
    pyodide = await boot(new URL('/pytrigger/worker.js', self.location.href).href);
    for (const [path, text] of Object.entries(files)) {
      pyodide.FS.mkdirTree(path.slice(0, path.lastIndexOf('/')));
      pyodide.FS.writeFile(path, text);
    }
    pyodide.runPython("import sys; sys.path.insert(0, '/bench/benchmarks'); import bench_engine");
    return { bootMs: performance.now() - started, python: pyodide.runPython('import sys; sys.version') };
  },
  async measure({ n }) {
    const out = pyodide.runPython(`import json; json.dumps(bench_engine.measure(${Number(n)}))`);
    return JSON.parse(out);
  },
};
addEventListener('message', async (e) => {
  const { id, kind } = e.data;
  try {
    postMessage({ id, ok: true, value: await handlers[kind](e.data) });
  } catch (err) {
    postMessage({ id, ok: false, value: String((err && err.message) || err) });
  }
});
