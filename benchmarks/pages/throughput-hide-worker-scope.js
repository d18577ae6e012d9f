// Benchmark-only: imported before /pytrigger/worker.js so that its own start-up branch
// (`self instanceof WorkerGlobalScope`) stays off in this worker, which only wants its
// exported boot(). throughput-worker.js puts WorkerGlobalScope back before booting.
globalThis.__benchWorkerGlobalScope = Object.getOwnPropertyDescriptor(globalThis, 'WorkerGlobalScope');
delete globalThis.WorkerGlobalScope;
