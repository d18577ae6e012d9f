"""The on-page adapter: the engine on the main thread, next to the shim.

Two ways in, one path:

* ``data-mode="main"``: the shim loads Pyodide on the page itself and calls
  :func:`start`.
* ``data-mode="pyscript"``: the page runs PyScript, and its own
  ``<script type="py">`` does::

      import pytrigger.pyscript
      pytrigger.pyscript.start()

Either way the shim (``window.pytrigger``) still listens to the DOM and
applies decisions; :func:`start` hands it a ``receive`` function through its
private ``_attach`` hook, and answers through its ``_receive`` hook.  The
protocol, clock and timer are :class:`pytrigger.worker.Driver`'s, with a clock
offset of 0 (the page's own ``performance.now()``).

Python here runs on the main thread: every call is short (an event batch,
~µs per event), but Pyodide's start-up itself is one long task — the reason
the worker is the default.
"""

from __future__ import annotations

from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.ffi import JsException, create_proxy  # type: ignore[import-not-found]

from pytrigger.worker import Driver

__all__ = ["start"]


def _bridge() -> Any:
    bridge = getattr(js, "pytrigger", None)
    if bridge is None or not hasattr(bridge, "_attach"):
        raise RuntimeError(
            "pytrigger.pyscript.start(): no shim on this page; add "
            '<script src="/pytrigger/pytrigger.js" data-mode="pyscript" ...> before it'
        )
    return bridge


def start() -> Driver:
    """Attach the engine to the page's shim and return its :class:`Driver`."""
    bridge = _bridge()

    def post(text: str) -> None:
        bridge._receive(text)

    driver = Driver(post)
    receive = create_proxy(driver.receive)
    driver.proxies.append(receive)
    try:
        bridge._attach(receive)
    except JsException:
        driver.close()
        raise
    return driver
