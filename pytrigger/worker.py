"""The Pyodide side of the Web Worker: the only module importing ``js``/``pyodide``.

``web/worker.js`` boots Pyodide, loads the pytrigger wheel and calls
:func:`start` with the messages that arrived meanwhile.  From then on this
module is thin glue: a message (a JSON string from the shim) is stamped with
the page's clock and handed to :class:`~pytrigger.protocol.Session`; what the
session answers is posted back as one JSON string (a list of messages); the
``deadline`` the session reports arms the one timer this module keeps.

Clocks: every ``t`` and deadline is in the page's ``performance.now()`` ms.
A worker has its own ``performance.timeOrigin``, so the page's now is
``performance.now() + (worker origin - page origin)``; the shim sends its
``timeOrigin`` in ``init``.  On the page itself (:mod:`pytrigger.pyscript`)
the two origins are the same and the offset is 0.

Lifetimes (Pyodide's ``ffi/wrappers.py`` way): the two proxies this module
hands to JavaScript — the message listener and the timer callback — are made
once, kept, and removed and destroyed by :meth:`Driver.close` (a ``close``
message).  Messages cross as strings, so no other proxy is ever created: a
long session keeps a flat count of live proxies.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.ffi import create_proxy  # type: ignore[import-not-found]

from pytrigger.protocol import Message, Session

__all__ = ["Driver", "start"]


class Driver:
    """One :class:`Session`, one timer, one outgoing channel.

    ``post`` sends one JSON string (a list of messages) to the shim."""

    def __init__(self, post: Callable[[str], None]) -> None:
        self.session = Session()
        self._post = post
        self._offset = 0.0  # page clock = performance.now() + offset
        # performance.now() read through the FFI costs ~50 us a call; Emscripten's
        # monotonic clock (time.perf_counter) *is* performance.now(), read from
        # wasm directly: measured once against it, then used alone
        self._clock = float(js.performance.now()) - time.perf_counter() * 1000.0
        self._timer: Any = None
        self._armed_at: float | None = None
        self._tick_proxy: Any = create_proxy(self._tick)
        #: every proxy handed to JavaScript, destroyed by :meth:`close`
        self.proxies: list[Any] = [self._tick_proxy]
        #: run by :meth:`close` before the proxies go (e.g. remove a listener)
        self.on_close: list[Callable[[], None]] = []
        self.closed = False

    def page_now(self) -> float:
        return time.perf_counter() * 1000.0 + self._clock + self._offset

    def receive(self, text: str) -> None:
        """Handle one message from the shim (a JSON string)."""
        if self.closed:
            return
        try:
            message = json.loads(text)
        except (TypeError, ValueError):
            self.session.dropped["message: not JSON"] += 1
            return
        if not isinstance(message, dict):
            self.session.dropped["message: expected an object"] += 1
            return
        if message.get("type") == "close":
            self.close()
            return
        if message.get("type") == "init":
            origin = message.get("timeOrigin")
            if isinstance(origin, int | float) and not isinstance(origin, bool):
                self._offset = float(js.performance.timeOrigin) - float(origin)
        message["now"] = self.page_now()
        self._run(message)

    def _tick(self) -> None:
        self._timer = None
        if self.closed:
            return
        armed, self._armed_at = self._armed_at, None
        now = self.page_now()
        # a timer never fires early by the page's clock; the two clocks may
        # differ by rounding, so never tick before the deadline itself
        self._run({"type": "tick", "now": now if armed is None else max(now, armed)})

    def _run(self, message: Message) -> None:
        try:
            out = self.session.handle(message)
        except Exception as error:  # a bug: report it, never into the page
            traceback.print_exc()
            out = [{"type": "error", "message": f"internal error: {error!r}", "path": None}]
            self.session.state = "failed"
        self._deliver(out)

    def _deliver(self, out: Iterable[Message]) -> None:
        batch = []
        for message in out:
            if message["type"] == "deadline":
                self._arm(message["at"])
            else:
                batch.append(message)
        if batch:
            self._post(json.dumps(batch))

    def _arm(self, at: float | None) -> None:
        if at == self._armed_at and (at is None or self._timer is not None):
            return  # armed for that deadline already
        if self._timer is not None:
            js.clearTimeout(self._timer)
            self._timer = None
        self._armed_at = at
        if at is not None:
            self._timer = js.setTimeout(self._tick_proxy, max(0.0, at - self.page_now()))

    def close(self) -> None:
        """Stop the timer and destroy every proxy this driver handed out."""
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            js.clearTimeout(self._timer)
            self._timer = None
        for hook in self.on_close:
            hook()
        self.on_close.clear()
        for proxy in self.proxies:
            proxy.destroy()
        self.proxies.clear()


def _post_to_page(text: str) -> None:
    js.postMessage(text)


def start(pending: Iterable[str] = ()) -> Driver:
    """Run in the worker: listen for the shim's messages, handle ``pending``
    (those that arrived while Pyodide booted) first, in order."""
    driver = Driver(_post_to_page)

    def on_message(event: Any) -> None:
        driver.receive(event.data)

    listener = create_proxy(on_message)
    driver.proxies.append(listener)
    driver.on_close.append(lambda: js.removeEventListener("message", listener))
    for text in list(pending):
        driver.receive(str(text))
    js.addEventListener("message", listener)
    return driver
