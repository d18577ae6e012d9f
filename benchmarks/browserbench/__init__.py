"""The parts of benchmarks/bench_browser.py: pytrigger in Chromium against the same page bare
and with posthog-js.

kit.py (servers, pages, recorder, CDP to a worker, CPU time from /proc), peer.py (posthog-js's
CDN and sink), visitor.py (the scripted input), common.py (what the figures share), and one
module per group of figures: session.py, latency.py, loading.py, engine.py, cpu_profile.py.
"""
