"""The pages in a real headless browser (Chromium over the DevTools protocol): they load offline without console
errors, every node is in the DOM, a screenshot is produced, and the interactions work (search, stream
highlight, pan/zoom, collapsed view, problems list; timeline picking; dashboard updates)."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

from posegraph import Graph
from posegraph.viz import draw
from posegraph.viz.dashboard import Dashboard
from posegraph.viz.report import render_timeline_html
from posegraph.viz.trace import load_trace

from .conftest import ALL_GRAPHS, GRAPHS, graph_id
from .test_dashboard import QUEUEING

pytestmark = pytest.mark.timeout(120)


def check_screenshot(browser, path) -> np.ndarray:
    data = browser.screenshot(path)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[0] >= 500 and image.shape[1] >= 1000
    assert image.std() > 10  # not a blank page
    return image


def only_local(requests) -> bool:
    return all(url.startswith(("file://", "data:", "about:")) for url in requests)


def screen_point(browser, selector: str) -> tuple[float, float]:
    """The page coordinates of the middle of an SVG element (a path's midpoint)."""
    return tuple(browser.evaluate(f"""(() => {{
        const el = document.querySelector({json.dumps(selector)});
        const svg = el.ownerSVGElement;
        let p;
        if (el.getTotalLength) {{ p = el.getPointAtLength(el.getTotalLength() / 2); }}
        else {{ const b = el.getBBox(); p = {{x: b.x + b.width / 2, y: b.y + b.height / 2}}; }}
        const pt = svg.createSVGPoint(); pt.x = p.x; pt.y = p.y;
        const s = pt.matrixTransform(svg.getScreenCTM());
        return [s.x, s.y];
    }})()"""))


def view_box(browser) -> list[float]:
    return [float(v) for v in browser.evaluate(
        "posegraphViewer.svg().getAttribute('viewBox')").split()]


@pytest.mark.parametrize("path", ALL_GRAPHS, ids=graph_id)
def test_viewer_loads_without_errors_with_every_node(browser, path, tmp_path):
    page = tmp_path / "graph.html"
    model = draw(path, page)
    browser.open(page.as_uri(), ready="document.body.dataset.ready")
    assert browser.errors == []
    assert only_local(browser.requests), browser.requests
    assert browser.evaluate("document.getElementById('pg-js-errors').hidden") is True
    shown = browser.evaluate("""Array.from(document.querySelectorAll(
        '.view[data-view="expanded"] g.node')).map(g => g.dataset.name)""")
    assert sorted(shown) == sorted(n.name for n in model.nodes)
    if model.clusters:
        collapsed = model.collapsed()
        shown = browser.evaluate("""Array.from(document.querySelectorAll(
            '.view[data-view="collapsed"] g.node')).map(g => g.dataset.name)""")
        assert sorted(shown) == sorted(n.name for n in collapsed.nodes)
    edges = browser.evaluate("document.querySelectorAll('.view[data-view=\"expanded\"] g.edge').length")
    assert edges == len(model.edges)
    if model.issues:
        assert browser.evaluate("document.querySelectorAll('#pg-issues li').length") >= len(model.issues)
    image = check_screenshot(browser, tmp_path / "graph.png")
    if model.nodes:  # the drawing is in the canvas area: something non-white left of the details panel
        assert (image[60:-40, :900] < 200).any()


def test_viewer_interactions(browser, tmp_path):
    page = tmp_path / "main.html"
    draw(GRAPHS / "viz_main.pbtxt", page)
    browser.open(page.as_uri(), ready="document.body.dataset.ready")

    # search with the keyboard: type, Enter selects the first hit and shows its details
    browser.evaluate("document.getElementById('pg-search').focus()")
    browser.send("Input.insertText", {"text": "pick"})
    hits = browser.evaluate("Array.from(document.querySelectorAll('#pg-results li')).map(li => li.textContent)")
    assert hits and hits[0].startswith("stage/inner/pick")
    for kind in ("keyDown", "keyUp"):
        browser.send("Input.dispatchKeyEvent", {"type": kind, "key": "Enter", "code": "Enter",
                                                "windowsVirtualKeyCode": 13})
    assert browser.evaluate("document.querySelector('.view[data-view=\"expanded\"] g.node.sel').dataset.name") \
        == "stage/inner/pick"
    assert browser.evaluate("document.querySelector('#pg-details h2').textContent") == "stage/inner/pick"
    browser.evaluate("posegraphViewer.fit()")

    # click a stream: its producer and every consumer light up, the rest dims
    x, y = screen_point(browser, '.view[data-view="expanded"] g.edge[data-stream="staged"] path.line')
    browser.click(x, y)
    lit = browser.evaluate("""(() => { const s = posegraphViewer.svg();
        return {dim: s.classList.contains('dim'),
                edges: Array.from(s.querySelectorAll('g.edge.hl')).map(g => g.dataset.stream),
                nodes: Array.from(s.querySelectorAll('g.node.hl')).map(g => g.dataset.name).sort()}; })()""")
    assert lit["dim"] and lit["edges"] == ["staged", "staged"]
    assert lit["nodes"] == ["stage/merge", "tail", "threshold"]
    details = browser.evaluate("document.getElementById('pg-details').textContent")
    assert "Produced by" in details and "stage/merge" in details and "Consumed by" in details
    for kind in ("keyDown", "keyUp"):
        browser.send("Input.dispatchKeyEvent", {"type": kind, "key": "Escape", "code": "Escape",
                                                "windowsVirtualKeyCode": 27})
    assert browser.evaluate("posegraphViewer.svg().querySelectorAll('.hl').length") == 0

    # click a node: options and ports (with the back edge) in the panel
    x, y = screen_point(browser, '.view[data-view="expanded"] g.node[data-name="limiter"] .shape')
    browser.click(x, y)
    details = browser.evaluate("document.getElementById('pg-details').textContent")
    assert "FlowLimiterCalculator" in details and "max_in_flight: 1" in details and "(back edge)" in details

    # wheel zooms in at the pointer, dragging pans
    before = view_box(browser)
    browser.mouse("mouseWheel", 400, 400, deltaX=0, deltaY=-400)
    zoomed = view_box(browser)
    assert zoomed[2] < before[2] * 0.8
    browser.mouse("mousePressed", 300, 300)
    browser.mouse("mouseMoved", 420, 360, buttons=1)
    browser.mouse("mouseReleased", 420, 360)
    panned = view_box(browser)
    assert panned[0] < zoomed[0] and panned[1] < zoomed[1] and panned[2] == pytest.approx(zoomed[2])

    # subgraphs: click a frame to collapse, click the selected subgraph node again to expand
    browser.evaluate("posegraphViewer.fit()")
    x, y = screen_point(browser, '.view[data-view="expanded"] g.cluster[data-path="stage"] text')
    browser.click(x, y)
    assert browser.evaluate("posegraphViewer.view()") == "collapsed"
    assert browser.evaluate("document.querySelector('.view[data-view=\"expanded\"]').hidden") is True
    box = '.view[data-view="collapsed"] g.node[data-kind="subgraph"]'
    assert browser.evaluate(f"document.querySelector('{box}').classList.contains('sel')")
    x, y = screen_point(browser, f"{box} .shape")
    browser.click(x, y)
    assert browser.evaluate("posegraphViewer.view()") == "expanded"
    browser.evaluate("document.querySelector('#pg-views button[data-view=\"collapsed\"]').click()")
    assert browser.evaluate("posegraphViewer.view()") == "collapsed"
    assert browser.errors == []
    check_screenshot(browser, tmp_path / "collapsed.png")


def test_invalid_graph_page_marks_and_lists_problems(browser, tmp_path):
    page = tmp_path / "invalid.html"
    model = draw(GRAPHS / "viz_invalid.pbtxt", page)
    browser.open(page.as_uri(), ready="document.body.dataset.ready")
    assert browser.errors == []
    marked = browser.evaluate("""Array.from(document.querySelectorAll('.view[data-view="expanded"] g.node.issue'))
        .map(g => g.dataset.name).sort()""")
    assert marked == sorted(n.name for n in model.nodes if n.issues)
    assert {"unknown_calc", "needs_ghost", "bad_tag"} <= set(marked)
    items = browser.evaluate("Array.from(document.querySelectorAll('#pg-issues li')).map(li => li.textContent)")
    assert len(items) == len(model.issues) and any("NoSuchCalculatorAnywhere" in i for i in items)
    browser.evaluate("Array.from(document.querySelectorAll('#pg-issues li')).find(li => "
                     "li.textContent.startsWith('needs_ghost')).click()")
    assert browser.evaluate("posegraphViewer.svg().querySelector('g.node.sel').dataset.name") == "needs_ghost"
    assert "has no producer" in browser.evaluate("document.querySelector('#pg-details .problem').textContent")
    check_screenshot(browser, tmp_path / "invalid.png")


def test_standalone_svg_and_profiled_page_load(browser, tmp_path):
    trace_path = tmp_path / "trace.json"
    graph = Graph(GRAPHS / "viz_run.pbtxt", trace_path=trace_path)
    graph.start()
    graph.wait_until_done(timeout=60)
    svg = tmp_path / "run.svg"
    draw(GRAPHS / "viz_run.pbtxt", svg, profile=trace_path)
    browser.open(svg.as_uri())
    assert browser.errors == [] and only_local(browser.requests)
    check_screenshot(browser, tmp_path / "svg.png")
    page = tmp_path / "run.html"
    draw(GRAPHS / "viz_run.pbtxt", page, profile=trace_path)
    browser.open(page.as_uri(), ready="document.body.dataset.ready")
    assert browser.errors == []
    assert browser.evaluate("posegraphViewer.selectNode('slow')")
    details = browser.evaluate("document.getElementById('pg-details').textContent")
    assert "Profile" in details and "p90_ms" in details and "latency_mean_ms" in details
    check_screenshot(browser, tmp_path / "profiled.png")

    # the timeline page of the same trace
    trace = load_trace(trace_path)
    timeline = tmp_path / "timeline.html"
    timeline.write_text(render_timeline_html(trace))
    browser.open(timeline.as_uri(), ready="document.body.dataset.ready")
    assert browser.errors == [] and only_local(browser.requests)
    assert int(browser.evaluate("document.getElementById('pg-timeline').dataset.drawn")) == len(trace.slices)
    rows = browser.evaluate("Array.from(document.querySelectorAll('#pg-table tbody tr')).map(r => r.dataset.node)")
    assert rows == [r.node for r in trace.rows]
    first_fast = min(s[4] for s in trace.slices if trace.node_names[s[1]] == "fast" and s[4] > -(2**62))
    index = browser.evaluate(f"posegraphTimeline.find('fast', {first_fast})")
    browser.evaluate(f"posegraphTimeline.pick({index})")
    assert browser.evaluate("document.getElementById('pg-details').dataset.flowsIn") == "1"
    assert "inputs from: slow" in browser.evaluate("document.getElementById('pg-details').textContent")
    before = browser.evaluate("posegraphTimeline.view()")
    browser.mouse("mouseWheel", 700, 80, deltaX=0, deltaY=-500)
    after = browser.evaluate("posegraphTimeline.view()")
    assert after["b"] - after["a"] < 0.8 * (before["b"] - before["a"])
    check_screenshot(browser, tmp_path / "timeline.png")


def test_dashboard_page_updates_while_the_graph_runs(browser, tmp_path):
    long_run = QUEUEING.replace("count: 300", "count: 1000")  # about 4 s
    graph = Graph(long_run)
    with Dashboard(graph, port=0) as dash:
        graph.start()
        try:
            browser.open(dash.url, ready="document.body.dataset.updates")
            first = int(browser.evaluate("document.body.dataset.updates"))
            time.sleep(2.1)
            assert not graph.done, "the run ended before the page could be watched"
            later = int(browser.evaluate("document.body.dataset.updates"))
            assert later - first >= 2  # at least once a second
            text = browser.evaluate("""Array.from(document.querySelectorAll(
                'g.node[data-name="slow"] text.stats')).map(t => t.textContent)""")
            assert "waiting" not in text[0] and "ms" in text[0] and "calls" in text[1]
            status = browser.evaluate("document.getElementById('pg-live').textContent")
            assert status.startswith("running") and "frames/s" in status
            assert browser.errors == []
            assert all(url.startswith(dash.url) for url in browser.requests), browser.requests
            check_screenshot(browser, tmp_path / "dashboard.png")
        finally:
            graph.wait_until_done(timeout=60)
    browser.wait_for("document.getElementById('pg-live').textContent.match(/finished|ended/)", timeout=5)


def test_the_browser_harness_sees_errors_and_network_use(browser, tmp_path):
    """The checks above can fail: a page that throws, logs an error or reaches out is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><img src='http://127.0.0.1:9/a.png'>"
                    "<script>console.error('boom'); undefinedFunction();</script></body></html>")
    browser.open(page.as_uri())
    browser.wait_for("true")
    assert any("boom" in e for e in browser.errors)
    assert any("undefinedFunction" in e for e in browser.errors)
    assert not only_local(browser.requests)
