"""The default look of a toast (DESIGN.md §5 ``toast``), sent to the shim in
``ready`` (:class:`~pytrigger.protocol.Session`) so that web/pytrigger.js carries
no CSS: it stays under its 8 KiB budget, and a toast can only be drawn once the
engine is ready anyway.  The shim adopts it as a constructed stylesheet (no
``style-src`` needed); every rule is wrapped in ``:where()`` (zero specificity),
so any rule of the site's own wins.
"""

from __future__ import annotations

__all__ = ["TOAST_STYLE"]

#: the toast's stylesheet: a box in a viewport corner (``pytrigger-at-*``)
TOAST_STYLE = (
    ":where(.pytrigger-toast){position:fixed;z-index:2147483000;box-sizing:border-box;"
    "width:min(22rem,calc(100vw - 2rem));margin:0;padding:1rem 2.5rem 1rem 1.1rem;"
    "border-radius:12px;background:#fff;color:#1d2433;"
    "box-shadow:0 10px 30px rgba(16,24,40,.22);font:15px/1.45 system-ui,sans-serif;"
    "border:1px solid rgba(16,24,40,.12)}"
    ":where(.pytrigger-at-top){top:1rem}"
    ":where(.pytrigger-at-bottom){bottom:1rem}"
    ":where(.pytrigger-at-left){left:1rem}"
    ":where(.pytrigger-at-right){right:1rem}"
    ":where(.pytrigger-toast-title){display:block;font-weight:650;margin:0 0 .25rem}"
    ":where(.pytrigger-toast-body){margin:0}"
    ":where(.pytrigger-toast-cta){margin-top:.75rem;padding:.45rem .9rem;border:0;"
    "border-radius:8px;background:#3b5bdb;color:#fff;font:inherit;font-weight:600;"
    "cursor:pointer}"
    ":where(.pytrigger-toast-close){position:absolute;top:.4rem;right:.5rem;border:0;"
    "background:none;font:20px/1 system-ui,sans-serif;color:#5c6475;cursor:pointer;"
    "padding:.25rem}"
)
