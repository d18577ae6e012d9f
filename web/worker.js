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
// Memory snapshot (DESIGN: boot): build.py makes a snapshot of a started
// Pyodide with pytrigger imported (make-snapshot.mjs) and writes its name, size
// and sha256 into SNAPSHOT below. Restoring it skips CPython's start and
// pytrigger's import (most of a warm boot); the wheel is not loaded then. Pyodide's snapshot
// API is private, so it is used behind a guard: the file must come whole,
// match its sha256 and be no larger than 30 MiB (pyodide#6254), and restoring
// must succeed — else Pyodide starts normally. (The file is the heap and a
// header: "\0snp", then the header's length, little-endian.) The policy comes from the
// shim's data-snapshot (as ?snapshot= on this file's URL):
//   auto (default)  use it when the HTTP cache has it; if not, download it
//                   first when its first 250 ms say it will be in within
//                   1.5 s; else cancel that, start normally and fetch it in
//                   the background once pytrigger runs, for the next page
//                   (HTTP cache only: no storage is written). Under Save-Data
//                   (navigator.connection.saveData) it is never fetched.
//   always          fetch it before starting (fast networks: it is ~4 MB br)
//   off             never
// After a restore, Python's `random` is reseeded from crypto.getRandomValues:
// every visitor's snapshot is the same file.
//
// Never: fetch anything but the files next to this one, or touch the page.

const BOOT_TIMEOUT_MS = 20000;
const SNAPSHOT = null; // build.py writes {file, sha256, size} here
const SNAPSHOT_MAX = 30 * 1024 * 1024; // pyodide#6254: larger heaps fail to restore
const PREFETCH_DELAY_MS = 2000;
// auto, not cached: the snapshot is downloaded first when, from the rate of its
// first SNAPSHOT_PROBE_MS after its first bytes, all of it will be in within
// SNAPSHOT_BUDGET_MS of the request (a restore takes about 0.3 s; a normal start
// about 2.5 s of CPU here, more on a phone); else the download is cancelled,
// Pyodide starts normally, and the snapshot is fetched once pytrigger runs, for
// the next page. The probe counts only the time this thread could run: a tick
// every PROBE_TICK_MS that comes late says how long it was busy (parsing
// Emscripten's module, say) while the bytes that came waited to be read.
const SNAPSHOT_PROBE_MS = 250;
const PROBE_TICK_MS = 10;
const SNAPSHOT_BUDGET_MS = 1500;
// the 8-byte empty module: "\0asm", version 1
const EMPTY_WASM = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/** Pyodide with pytrigger loaded; `base` is this file's URL (the bundle's folder). */
export async function boot(base = import.meta.url) {
  const t0 = performance.now();
  bootInfo.start = t0;
  const mark = (name) => { bootInfo.ms[name] = Math.round(performance.now() - t0); };
  try {
    await WebAssembly.compile(EMPTY_WASM);
  } catch (err) {
    throw new Error(
      "WebAssembly cannot be compiled here: the page's Content-Security-Policy " +
        "needs 'wasm-unsafe-eval' in script-src (" + err.message + ")",
    );
  }
  const indexURL = new URL('./pyodide/', base).href;
  const policy = snapshotPolicy(base);
  bootInfo.snapshot = policy === 'off' ? 'off' : 'none'; // readSnapshot says why it has none
  const pending = policy === 'off' ? null : readSnapshot(indexURL, policy, base);
  const { loadPyodide } = await import(indexURL + 'pyodide.mjs');
  mark('loader');
  // Emscripten's module (1.2 MB of JavaScript) loads while the snapshot is read
  // and checked; loadPyodide's own import of it then waits for this one. Not
  // awaited here: on a normal start loadPyodide starts fetching the wasm first.
  import(indexURL + 'pyodide.asm.mjs').then(() => mark('asm'), () => {});
  const problems = [];
  const options = {
    indexURL,
    lockFileURL: indexURL + 'pyodide-lock.json',
    packageBaseUrl: indexURL,
    stdout: () => {},
    stderr: (line) => problems.push(line),
  };
  let pyodide = null;
  const snapshot = pending && (await pending);
  if (pending) mark('snapshot');
  if (snapshot) {
    try {
      pyodide = await loadPyodide({ ...options, _loadSnapshot: snapshot });
      pyodide.runPython('import random as _r; _r.seed(); del _r'); // os.urandom: crypto
      bootInfo.snapshot = 'restored';
    } catch (err) {
      pyodide = null;
      bootInfo.snapshot = 'failed: ' + ((err && err.message) || err);
    }
  }
  if (!pyodide) pyodide = await loadPyodide(options);
  mark('runtime');
  // a snapshot made with pytrigger imported (make-snapshot.mjs) needs no wheel:
  // its sha256 above vouches for the code in it, as the lock file's does for the wheel
  if (bootInfo.snapshot === 'restored' &&
      pyodide.runPython('import sys\n"pytrigger.worker" in sys.modules')) {
    bootInfo.preloaded = true;
    return pyodide;
  }
  if (policy === 'auto' && bootInfo.snapshot !== 'restored' && bootInfo.prefetch && SNAPSHOT) {
    // for the next page: into the HTTP cache, once pytrigger runs
    setTimeout(() => fetch(indexURL + SNAPSHOT.file, { credentials: 'same-origin' })
      .then((res) => res.arrayBuffer()).catch(() => {}), PREFETCH_DELAY_MS);
  }
  const loaded = await pyodide.loadPackage('pytrigger', {
    messageCallback: () => {},
    errorCallback: (line) => problems.push(line),
  });
  mark('package');
  if (!loaded.some((pkg) => pkg.name === 'pytrigger')) {
    throw new Error('the pytrigger package did not load: ' + (problems.join(' ') || 'unknown reason'));
  }
  return pyodide;
}

/** How this boot went (the worker reports it in its first message's `boot`). */
export const bootInfo = { snapshot: null, preloaded: false, prefetch: true, start: 0, ms: {} };
// ms: each step's end, from boot()'s start; preloaded: pytrigger came in the snapshot

/** Save-Data: the shim's word for it (?save-data=1), or this global's. */
function saveData(base) {
  try { if (new URL(base).searchParams.get('save-data') === '1') return true; } catch (_) { /* no URL */ }
  const connection = globalThis.navigator && navigator.connection;
  return !!(connection && connection.saveData);
}

function snapshotPolicy(base) {
  let value = null;
  try { value = new URL(base).searchParams.get('snapshot'); } catch (_) { value = null; }
  return value === 'off' || value === 'always' ? value : 'auto';
}

/** The snapshot's bytes, or null: missing, too slow to fetch (auto), or not the file built. */
async function readSnapshot(indexURL, policy, base) {
  if (!SNAPSHOT) return null; // a build without one
  if (SNAPSHOT.size > SNAPSHOT_MAX + 65536) { bootInfo.snapshot = 'too large'; return null; }
  if (!globalThis.crypto || !crypto.subtle) { bootInfo.snapshot = 'no crypto.subtle'; return null; }
  const url = indexURL + SNAPSHOT.file;
  let bytes = null;
  try {
    if (policy === 'auto') {
      // the HTTP cache first (only-if-cached: a miss is a network error)
      const cached = await fetch(url, { credentials: 'same-origin', cache: 'only-if-cached', mode: 'same-origin' })
        .catch(() => null);
      if (cached && cached.ok) bytes = new Uint8Array(await cached.arrayBuffer());
    }
    if (!bytes) {
      if (policy === 'auto' && saveData(base)) {
        bootInfo.snapshot = 'save-data'; // no 4 MB more, now or for the next page
        bootInfo.prefetch = false;
        return null;
      }
      bytes = await download(url, policy === 'auto' ? SNAPSHOT_BUDGET_MS : Infinity);
      if (!bytes) { bootInfo.snapshot = 'too slow'; return null; } // fetched after the boot
    }
  } catch (err) {
    bootInfo.snapshot = 'fetch failed: ' + ((err && err.message) || err);
    return null;
  }
  bootInfo.prefetch = false; // it is in the HTTP cache now
  bootInfo.ms.read = Math.round(performance.now() - bootInfo.start); // then checked: 'snapshot'
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  if (bytes.length !== SNAPSHOT.size || hex !== SNAPSHOT.sha256) {
    bootInfo.snapshot = 'sha256 mismatch';
    return null;
  }
  const header = bytes.length >= 8 ? new DataView(bytes.buffer).getUint32(4, true) : 0;
  if (bytes.length - header > SNAPSHOT_MAX) { bootInfo.snapshot = 'too large'; return null; }
  return bytes;
}

/** The snapshot's bytes from the network, or null when the network is too
 * slow for them to pay: the request is aborted (so a normal start does not
 * share the network with it) when, SNAPSHOT_PROBE_MS after its first bytes
 * were read, the rate since then says the rest (SNAPSHOT.size bytes once
 * decoded) would not be in within `budget` ms of the request, or at `budget`.
 * The probe starts at the first bytes, so the time to them (latency) is not
 * taken for the network's speed, and it lasts SNAPSHOT_PROBE_MS of the time
 * this thread could run: while it was busy (e.g. with Emscripten's module),
 * what arrived waited unread, and that is not the network's fault either. */
async function download(url, budget) {
  const begin = performance.now();
  const abort = new AbortController();
  let got = 0, first = 0, firstGot = 0, late = false, whole = false;
  let deadline = 0, tick = 0; // the budget's timer, and the probe's pending tick
  const nextTick = () => { tick = setTimeout(probe, PROBE_TICK_MS, performance.now() + PROBE_TICK_MS); };
  const stop = () => { late = true; abort.abort(); };
  let busy = 0; // ms since the first bytes that this thread could not run (late ticks)
  const probe = (due) => {
    if (late || whole) return;
    const now = performance.now();
    busy += Math.max(0, now - due - 1); // a timer's own jitter is about 1 ms
    const listened = now - first - busy;
    if (listened < SNAPSHOT_PROBE_MS) { nextTick(); return; }
    const rate = (got - firstGot) / listened; // bytes per ms while they could be read
    if (!(rate > 0) || now - begin + (SNAPSHOT.size - got) / rate > budget) stop();
  };
  if (budget !== Infinity) deadline = setTimeout(() => { if (!whole) stop(); }, budget);
  try {
    const res = await fetch(url, { credentials: 'same-origin', signal: abort.signal });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    if (!res.body || !res.body.getReader) {
      if (budget !== Infinity) { stop(); return null; }
      return new Uint8Array(await res.arrayBuffer());
    }
    const reader = res.body.getReader();
    const out = new Uint8Array(SNAPSHOT.size);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (got + value.length > out.length) { abort.abort(); return value; } // longer than built: fails the size check
      out.set(value, got);
      got += value.length;
      whole = got === out.length;
      if (!first) {
        first = performance.now();
        firstGot = got;
        bootInfo.ms.first = Math.round(first - bootInfo.start);
        if (budget !== Infinity) nextTick();
      }
      if (!whole && performance.now() - begin >= budget) stop(); // the budget's timer may be late
    }
    return got === out.length ? out : out.subarray(0, got); // a short one fails the sha256
  } catch (err) {
    if (late) return null;
    throw err;
  } finally {
    clearTimeout(deadline);
    clearTimeout(tick);
  }
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
        bootInfo.ms.glue = Math.round(performance.now() - bootInfo.start);
        postMessage(JSON.stringify([{
          type: 'boot', snapshot: bootInfo.snapshot, preloaded: bootInfo.preloaded, ms: bootInfo.ms,
          at: performance.timeOrigin + bootInfo.start, // when boot() began (epoch ms)
        }]));
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
