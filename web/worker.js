// worker.js — pytrigger's module Web Worker (and the boot code main mode reuses).
//
// Boots the self-hosted Pyodide found in ./pyodide/ (next to this file), loads
// the pytrigger wheel through ./pyodide/pyodide-lock.json (whose sha256 the
// browser checks: a tampered wheel fails to load) and hands the messages to
// pytrigger.worker, the Python glue. Messages that arrive while Pyodide boots
// are kept, in order, and handed over first.
//
// Failures are reported, never left hanging: a Content-Security-Policy without
// 'wasm-unsafe-eval' makes loadPyodide hang silently, so a tiny wasm module is
// compiled first; and the boot gives up after BOOT_TIMEOUT_MS. Either way the
// shim gets one {type: "error"} message and terminates this worker.
//
// Never: fetch anything but the files next to this one, or touch the page.

const BOOT_TIMEOUT_MS = 20000;
// the 8-byte empty module: "\0asm", version 1
const EMPTY_WASM = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/** Pyodide with pytrigger loaded; `base` is this file's URL (the bundle's folder). */
export async function boot(base = import.meta.url) {
  try {
    await WebAssembly.compile(EMPTY_WASM);
  } catch (err) {
    throw new Error(
      "WebAssembly cannot be compiled here: the page's Content-Security-Policy " +
        "needs 'wasm-unsafe-eval' in script-src (" + err.message + ")",
    );
  }
  const indexURL = new URL('./pyodide/', base).href;
  const { loadPyodide } = await import(indexURL + 'pyodide.mjs');
  const problems = [];
  const pyodide = await loadPyodide({
    indexURL,
    lockFileURL: indexURL + 'pyodide-lock.json',
    packageBaseUrl: indexURL,
    stdout: () => {},
    stderr: (line) => problems.push(line),
  });
  const loaded = await pyodide.loadPackage('pytrigger', {
    messageCallback: () => {},
    errorCallback: (line) => problems.push(line),
  });
  if (!loaded.some((pkg) => pkg.name === 'pytrigger')) {
    throw new Error('the pytrigger package did not load: ' + (problems.join(' ') || 'unknown reason'));
  }
  return pyodide;
}

const inWorker = typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope;

if (inWorker) {
  const pending = [];
  const early = (event) => pending.push(event.data);
  addEventListener('message', early);
  let settled = false;
  const fail = (message) => {
    if (settled) return;
    settled = true;
    removeEventListener('message', early);
    postMessage(JSON.stringify([{ type: 'error', message, path: null }]));
  };
  const timer = setTimeout(
    () => fail(`the runtime did not start within ${BOOT_TIMEOUT_MS / 1000} s`),
    BOOT_TIMEOUT_MS,
  );
  boot().then(
    (pyodide) => {
      clearTimeout(timer);
      if (settled) return;
      try {
        const glue = pyodide.pyimport('pytrigger.worker');
        removeEventListener('message', early); // pytrigger.worker listens from here on
        settled = true;
        glue.start(pending.splice(0)).destroy();
        glue.destroy();
      } catch (err) {
        settled = false;
        fail('pytrigger.worker did not start: ' + err.message);
      }
    },
    (err) => {
      clearTimeout(timer);
      fail(String((err && err.message) || err));
    },
  );
}
