"""The group-commit writer on its own (no database): items submitted at once
are written in few batches, each answered with its own result in order; a
failed write fails every request of its batch and the writer goes on; the
thread ends when idle and a new item starts another; futures of several
event loops are answered in their own loops."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from pytrigger.collector.batch_writer import BatchFailed, BatchWriter


class Recorder:
    """A ``write`` that records its batches, taking ``delay_s`` each (so
    that items queue up behind it), and fails the batches holding ``fail``."""

    def __init__(self, delay_s: float = 0.01, fail: object = None) -> None:
        self.delay_s = delay_s
        self.fail = fail
        self.batches: list[list[int]] = []
        self.threads: set[str] = set()

    def __call__(self, items: Sequence[int]) -> list[int]:
        self.threads.add(threading.current_thread().name)
        self.batches.append(list(items))
        time.sleep(self.delay_s)
        if self.fail in items:
            raise OSError("disk on fire")
        return [item * 10 for item in items]


def test_concurrent_items_are_written_in_batches_in_order() -> None:
    write = Recorder()
    writer: BatchWriter[int, int] = BatchWriter(write)

    async def main() -> list[int]:
        return await asyncio.gather(*(writer.submit(i) for i in range(200)))

    assert asyncio.run(main()) == [i * 10 for i in range(200)]
    assert sorted(i for batch in write.batches for i in batch) == list(range(200))
    assert [i for batch in write.batches for i in batch] == list(range(200))  # FIFO
    assert len(write.batches) < 20  # not one transaction per item
    assert writer.items == 200 and writer.batches == len(write.batches)
    assert write.threads == {"pytrigger-writer"}


def test_max_batch_caps_a_batch() -> None:
    write = Recorder()
    writer: BatchWriter[int, int] = BatchWriter(write, max_batch=7)

    async def main() -> None:
        await asyncio.gather(*(writer.submit(i) for i in range(50)))

    asyncio.run(main())
    assert max(len(batch) for batch in write.batches) <= 7
    with pytest.raises(ValueError, match="max_batch"):
        BatchWriter(write, max_batch=0)


def test_a_failed_write_fails_every_item_of_its_batch_and_the_writer_goes_on() -> None:
    write = Recorder(delay_s=0.05, fail=3)
    writer: BatchWriter[int, int] = BatchWriter(write)

    async def main() -> list[int | BaseException]:
        return await asyncio.gather(*(writer.submit(i) for i in range(10)), return_exceptions=True)

    outcomes = asyncio.run(main())
    failed_batch = next(batch for batch in write.batches if 3 in batch)
    for item, outcome in enumerate(outcomes):
        if item in failed_batch:
            assert isinstance(outcome, BatchFailed), (item, outcome)
            assert isinstance(outcome.__cause__, OSError)
        else:
            assert outcome == item * 10
    assert len(failed_batch) > 1  # the others were waiting on the same transaction
    # each request has its own exception (their tracebacks are not shared)
    errors = [o for o in outcomes if isinstance(o, BatchFailed)]
    assert len({id(error) for error in errors}) == len(errors)
    assert asyncio.run(_one(writer, 11)) == 110  # the thread survived


async def _one(writer: BatchWriter[int, int], item: int) -> int:
    return await writer.submit(item)


def test_the_thread_ends_when_idle_and_comes_back() -> None:
    writer: BatchWriter[int, int] = BatchWriter(Recorder(delay_s=0), idle_exit_s=0.05)
    assert not writer.running
    assert asyncio.run(_one(writer, 1)) == 10
    deadline = time.monotonic() + 5
    while writer.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not writer.running
    assert asyncio.run(_one(writer, 2)) == 20


def test_items_from_several_event_loops() -> None:
    """Each item's future is resolved in its own loop (a test client runs a
    loop per request; uvicorn one per process)."""
    write = Recorder(delay_s=0.02)
    writer: BatchWriter[int, int] = BatchWriter(write)
    results: dict[int, int] = {}

    def in_own_loop(item: int) -> None:
        results[item] = asyncio.run(_one(writer, item))

    threads = [threading.Thread(target=in_own_loop, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == {i: i * 10 for i in range(8)}


def test_a_cancelled_request_does_not_stop_the_batch() -> None:
    """A client that goes away cancels its wait; its item is still written
    and the others of the batch are answered."""
    write = Recorder(delay_s=0.05)
    writer: BatchWriter[int, int] = BatchWriter(write)

    async def main() -> list[int]:
        first = asyncio.ensure_future(writer.submit(0))
        others = [asyncio.ensure_future(writer.submit(i)) for i in range(1, 5)]
        await asyncio.sleep(0.01)
        first.cancel()
        return list(await asyncio.gather(*others))

    assert asyncio.run(main()) == [10, 20, 30, 40]
    assert 0 in [i for batch in write.batches for i in batch]
