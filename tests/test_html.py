"""The HTML report (docs/observability.md, "HTML report"): one
self-contained file with the summary, the tables, the plots as inline SVG
and the trace to save; checked as text and in a real browser (headless
Chromium), which must load it without a console message."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pykernel as pk

op = pk.op
ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"      # the PNG signature (PNG spec, section 5.2)


def traced(memory=False):
    k = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(quantum=4000), costs=pk.Costs.zero(),
                  trace=True, memory=pk.Memory(frames=256) if memory else None)
    body = [op.compute(20_000)]
    if memory:
        body = [op.map(0x4000_0000, 16 * 4096), op.touch_range(0x4000_0000, 16 * 4096), *body]
    k.spawn_many(pk.Program.script("cpu", body), 3)
    k.spawn(pk.Program.script("io", [op.loop(2, [op.compute(3000), op.io(5000)])]), name="io")
    k.run()
    return k


def external_references(page: str) -> list[str]:
    """URLs the page would fetch: src/href attributes and CSS url(...)
    that are not data: URIs or in-page anchors (XML namespace names are
    identifiers, never fetched: Namespaces in XML 1.0, section 2)."""
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    refs += re.findall(r"url\(([^)]*)\)", page)
    return [r for r in refs if not r.startswith(("data:", "#"))]


def test_report_has_the_summary_tables_and_plots():
    pytest.importorskip("matplotlib")
    page = traced().report_html()
    for heading in ("Summary", "CPUs", "Plots", "Processes (4)", "Trace"):
        assert f">{heading}</h2>" in page
    assert page.count("<svg") == 2                     # Gantt chart and thread states
    assert "<th>busy_ns</th>" in page and "<th>wait_ns</th>" in page
    assert ">RoundRobin(4 us)</td>" in page


def test_report_is_self_contained():
    pytest.importorskip("matplotlib")
    page = traced(memory=True).report_html()
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert external_references(page) == []


def test_report_embeds_the_trace_as_a_download():
    k = traced()
    page = k.report_html()
    m = re.search(r'<a download="trace.json" href="data:application/json;base64,([^"]+)"', page)
    assert m and base64.b64decode(m.group(1)).decode() == k.trace.to_json()
    assert json.loads(k.trace.to_json())["traceEvents"]
    assert f"<summary>The first {min(len(k.trace), 200)} events</summary>" in page


def test_report_of_a_kernel_with_memory_has_its_figures():
    pytest.importorskip("matplotlib")
    page = traced(memory=True).report_html()
    assert '<h2 id="memory">Memory</h2>' in page
    assert "<td style=\"text-align:left\">48 (48 minor, 0 major)</td>" in page  # 3 x 16 touches
    assert page.count("<svg") == 3                     # and the faults over time


def test_report_without_a_trace_says_how_to_get_one():
    k = pk.Kernel(costs=pk.Costs.zero())
    k.spawn(pk.Program.script("a", [op.compute(10)]))
    k.run()
    page = k.report_html()
    assert "<svg" not in page and "trace=True" in page and "Processes (1)" in page


def test_report_is_written_to_a_path_and_is_the_same_every_time(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "r.html"
    page = traced().report_html(path)
    assert path.read_text(encoding="utf-8") == page == traced().report_html()


def test_cli_run_html_writes_the_report(tmp_path):
    pytest.importorskip("matplotlib")
    from pykernel.cli import main
    out = tmp_path / "r.html"
    assert main(["run", str(ROOT / "examples" / "demo.toml"), "--no-progress",
                 "--html", str(out)]) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 2


# ---- in a browser -----------------------------------------------------------------------

def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("PK_REQUIRE_BROWSER") == "1":
        pytest.fail("PK_REQUIRE_BROWSER=1 but no chromium is installed (apt-get install chromium)")
    pytest.skip("no chromium: the HTML report's browser test needs it (apt-get install chromium)")


def headless(browser, tmp_path, *args):
    """Run headless Chromium on ARGS with no network (every host name
    fails to resolve) and its console logged to stderr."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}   # not the sanitizers
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--disable-background-networking",
           "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={tmp_path / 'profile'}",
           "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def console_messages(stderr: str) -> list[str]:
    """Console messages Chromium logged (lines with ":CONSOLE")."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_browser_check_sees_console_errors(tmp_path):
    # the check below would notice a page that logs or throws
    browser = chromium()
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><p>x</p><script>console.error('boom'); nothing();</script>")
    r = headless(browser, tmp_path, "--dump-dom", bad.as_uri())
    assert any("boom" in m for m in console_messages(r.stderr))


def test_report_loads_in_a_browser_without_console_messages(tmp_path):
    pytest.importorskip("matplotlib")
    browser = chromium()
    path = tmp_path / "report.html"
    traced(memory=True).report_html(path)
    r = headless(browser, tmp_path, "--dump-dom", path.as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    assert console_messages(r.stderr) == []
    dom = r.stdout
    assert dom.count("<table") == 5        # summary, memory, CPUs, processes, trace events
    assert dom.count("<svg") == 3                      # Gantt, thread states, faults
    assert ">Processes (4)</h2>" in dom


def test_report_screenshot_shows_the_page(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread
    browser = chromium()
    path = tmp_path / "report.html"
    traced().report_html(path)
    shot = tmp_path / "shot.png"
    r = headless(browser, tmp_path, "--hide-scrollbars", "--window-size=1280,2000",
                 f"--screenshot={shot}", path.as_uri())
    assert r.returncode == 0 and console_messages(r.stderr) == []
    assert shot.read_bytes().startswith(PNG_MAGIC)
    img = imread(str(shot))[..., :3]
    assert img.shape[:2] == (2000, 1280)
    colours = {tuple(int(c * 15 + 0.5) for c in p) for p in img.reshape(-1, 3)}
    assert len({p for p in colours if max(p) - min(p) > 1}) >= 3   # the plots' colours drawn


def test_report_of_a_kernel_that_has_not_run_draws_empty_plots_without_warnings():
    pytest.importorskip("matplotlib")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        page = pk.Kernel(trace=True).report_html()
    assert "Processes (0)" in page and page.count("<svg") == 2


def test_a_trace_too_large_to_embed_is_named_not_embedded(monkeypatch):
    import pykernel.html
    monkeypatch.setattr(pykernel.html, "MAX_EMBEDDED_TRACE", 100)
    page = traced().report_html()
    assert "data:application/json" not in page and "too large to embed" in page
