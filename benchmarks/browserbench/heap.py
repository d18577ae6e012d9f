"""Figure 9: where the page's JS heap goes -- a V8 heap snapshot of the worker-mode page
after a scripted session, less the bare page's, by kind of object.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from playwright.sync_api import Browser

from .common import Plan, Visit, fmt, page_for, section
from .kit import Servers, log
from .visitor import Layout, drive_session

#: (kind, its V8 node names): the snapshot's "system / X" nodes this figure groups
KINDS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "machine code (V8's baseline and optimising compilers: hot functions)",
        frozenset({"InstructionStream", "Code", "TrustedByteArray", "(constant pool)",
                   "DeoptimizationData", "DeoptimizationLiteralArray"}),
    ),
    (
        "bytecode, feedback and scopes (functions that ran)",
        frozenset({"BytecodeArray", "FeedbackVector", "FeedbackMetadata", "FeedbackCell",
                   "ScopeInfo", "SharedFunctionInfo", "(context local names)",
                   "ObjectBoilerplateDescription", "ClosureFeedbackCellArray", "LoadHandler",
                   "StoreHandler", "BytecodeWrapper", "(feedback)"}),
    ),
    (
        "DOM interfaces touched the first time (templates, prototypes' shapes, accessors)",
        frozenset({"FunctionTemplateInfo", "ObjectTemplateInfo", "FunctionTemplateRareData",
                   "AccessorPair", "AccessorInfo", "Map", "DescriptorArray", "ArrayList",
                   "(enum cache)", "PrototypeInfo", "(prototype transitions)",
                   "(transition array)", "TransitionArray"}),
    ),
)  # fmt: skip
OTHER = "the shim's own objects: closures, contexts, arrays, strings, maps, numbers"


def _node_kind(node_type: str, name: str) -> str | None:
    """The figure's kind of one snapshot node, or None: Blink's objects (Oilpan, the
    embedder heap: not in `usedSize`) and external string data (off the V8 heap)."""
    if node_type == "native" and not name.startswith("system / "):
        return None
    short = name.removeprefix("system / ")
    if short == "ExternalStringData":
        return None
    for kind, names in KINDS:
        if short in names:
            return kind
    return OTHER


def heap_kinds(visit: Visit) -> Counter[str]:
    """Self size (bytes) by kind of a heap snapshot taken after a forced GC."""
    chunks: list[str] = []
    visit.cdp.on("HeapProfiler.addHeapSnapshotChunk", lambda e: chunks.append(e["chunk"]))
    visit.cdp.send("HeapProfiler.enable")
    visit.cdp.send("HeapProfiler.collectGarbage")
    visit.cdp.send("HeapProfiler.takeHeapSnapshot", {"reportProgress": False})
    snap: dict[str, Any] = json.loads("".join(chunks))
    meta = snap["snapshot"]["meta"]
    fields = meta["node_fields"]
    types = meta["node_types"][0]
    width = len(fields)
    at_type, at_name, at_size = (
        fields.index("type"),
        fields.index("name"),
        fields.index("self_size"),
    )
    strings, nodes = snap["strings"], snap["nodes"]
    found: Counter[str] = Counter()
    for i in range(0, len(nodes), width):
        kind = _node_kind(types[nodes[i + at_type]], strings[nodes[i + at_name]])
        if kind is not None:
            found[kind] += nodes[i + at_size]
    return found


def figure_heap(browser: Browser, servers: Servers, plan: Plan) -> str:
    seconds = 20.0 if plan.quick else 60.0
    kinds: dict[str, Counter[str]] = {}
    used: dict[str, float] = {}
    for variant in ("bare", "worker"):
        log(f"heap: {variant}, {seconds:.0f} s of the scripted visitor")
        with Visit(browser, inputs=False, timing=False) as visit:
            visit.open(servers, page_for(variant), variant, settle_ms=1500)
            drive_session(visit.page, seconds, 7, Layout.read(visit.page))
            visit.page.wait_for_timeout(1000)
            used[variant] = visit.heap_after_gc()["usedSize"]
            kinds[variant] = heap_kinds(visit)
    rows = [
        "| what (V8 heap snapshot, self sizes) | bare page, KB | pytrigger (worker), KB | Δ, KB |",
        "|---|---:|---:|---:|",
    ]
    total = 0.0
    for kind in [k for k, _ in KINDS] + [OTHER]:
        a, b = kinds["bare"][kind] / 1000, kinds["worker"][kind] / 1000
        total += b - a
        rows.append(f"| {kind} | {fmt(a)} | {fmt(b)} | {fmt(b - a)} |")
    rows.append(f"| **all of these** | | | **{fmt(total)}** |")
    rows += [
        "",
        f"`Runtime.getHeapUsage` after a forced GC: bare {fmt(used['bare'] / 1e6, 3)} MB, "
        f"pytrigger {fmt(used['worker'] / 1e6, 3)} MB (Δ "
        f"{fmt((used['worker'] - used['bare']) / 1e6, 3)} MB). Each page: a fresh context, "
        f"loaded and settled, then {seconds:.0f} s of the session's scripted visitor (seed 7), "
        "1 s, a forced GC and `HeapProfiler.takeHeapSnapshot`; nodes are grouped by V8's own "
        "names. Blink's objects (the toasts' DOM nodes, the worker object) live in the "
        "embedder heap, and the script's source text outside the V8 heap; neither is in "
        "`usedSize` nor here.",
    ]
    return section("Browser: where the page's JS heap goes (worker mode)", rows)
