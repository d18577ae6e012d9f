// Benchmark-only (benchmarks/bench_browser.py): the page half of the throughput benchmark.
(() => {
  const worker = new Worker('throughput-worker.js', { type: 'module', name: 'bench-engine' });
  let next = 0;
  const waiting = new Map();
  worker.addEventListener('message', (e) => {
    const { id, ok, value } = e.data;
    const w = waiting.get(id);
    waiting.delete(id);
    if (w) (ok ? w[0] : w[1])(value);
  });
  worker.addEventListener('error', (e) => { window.benchError = String(e.message || e); });
  const ask = (msg) => new Promise((resolve, reject) => {
    const id = ++next;
    waiting.set(id, [resolve, reject]);
    worker.postMessage({ id, ...msg });
  });
  window.benchBoot = (files) => ask({ kind: 'boot', files });
  window.benchEngine = (n) => ask({ kind: 'measure', n });
})();
