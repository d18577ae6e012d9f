"""Group commit: one writer thread stores whatever reports are waiting, in one
transaction, and only then are their requests answered.

Theory of operation.  A request handler that has checked a report calls
``await writer.submit(item)``: the item goes on a queue with a future of the
handler's event loop, and the handler waits on the future.  One writer thread
(per app; started on the first item, gone after a while without any) takes
the first item off the queue and every other one already there (at most
``max_batch``), hands them to ``write`` -- :func:`store.insert_reports`: one
transaction -- and then resolves every future of the batch, with its result
or, if ``write`` raised, with :class:`BatchFailed`.  So a request is still
answered only after its report is committed, and a failed transaction fails
every request that was waiting on it (nothing of it is stored).

There is no timer: a batch is whatever arrived while the previous one was
being written.  One request alone is written at once, by itself; under load
the batches grow with the time a transaction takes, and the per-report costs
of a transaction (begin, commit, a statement per table, the trip to a thread
and back) are paid once per batch.  That is what lets one process take
around a thousand reports per second (benchmarks/bench_collector.py).

The futures may belong to different event loops (a test client runs one per
request): each batch's outcomes are handed to each loop with one
``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["BatchFailed", "BatchWriter"]

Item = TypeVar("Item")
Result = TypeVar("Result")

#: a writer thread with nothing to write for this long ends (a new item starts another)
IDLE_EXIT_S = 5.0


class BatchFailed(Exception):
    """The batch a request's item was in could not be written; the cause
    (``__cause__``) is what ``write`` raised."""


_Waiting = tuple[Item, "asyncio.Future[Result]", asyncio.AbstractEventLoop]


class BatchWriter(Generic[Item, Result]):
    """Items written in batches by one thread: ``write(items)`` returns one
    result per item, in order, or raises (the whole batch fails)."""

    def __init__(
        self,
        write: Callable[[Sequence[Item]], Sequence[Result]],
        *,
        max_batch: int = 256,
        idle_exit_s: float = IDLE_EXIT_S,
        name: str = "pytrigger-writer",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._write = write
        self._max_batch = max_batch
        self._idle_exit_s = idle_exit_s
        self._name = name
        self._queue: queue.SimpleQueue[_Waiting[Item, Result]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        #: batches and items written (or failed) so far
        self.batches = 0
        self.items = 0

    async def submit(self, item: Item) -> Result:
        """``item``'s result once its batch is committed; :class:`BatchFailed`
        if the batch failed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._queue.put((item, future, loop))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        return await future

    @property
    def running(self) -> bool:
        """Whether a writer thread is alive now."""
        with self._lock:
            return self._thread is not None

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._idle_exit_s)
            except queue.Empty:
                with self._lock:  # submit() puts first, then looks at _thread under the lock
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write_batch(batch)

    def _write_batch(self, batch: list[_Waiting[Item, Result]]) -> None:
        error: Exception | None = None
        try:
            results = list(self._write([item for item, _, _ in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"write returned {len(results)} results for {len(batch)}")
        except Exception as failure:  # every waiting request is told; the thread goes on
            error, results = failure, []
        self.batches += 1
        self.items += len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Result], int]]] = {}
        for index, (_, future, loop) in enumerate(batch):
            by_loop.setdefault(loop, []).append((future, index))
        for loop, waiting in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_settle, waiting, results, error)


def _settle(
    waiting: list[tuple[asyncio.Future[Result], int]],
    results: list[Result],
    error: Exception | None,
) -> None:
    """Resolve futures, in their loop's thread."""
    for future, index in waiting:
        if future.done():  # cancelled: the client went away (its report is stored)
            continue
        if error is None:
            future.set_result(results[index])
        else:
            failed = BatchFailed(f"the batch could not be written: {error!r}")
            failed.__cause__ = error
            future.set_exception(failed)
