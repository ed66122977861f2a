"""Drawing: DOT, SVG, PNG and the self-contained HTML page, with both layout engines, for the test graphs and
every graph shipped in graphs/; drawing speed; the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from posegraph import GraphConfigError, load_graph
from posegraph.cli import main
from posegraph.viz import build_model, draw, render
from posegraph.viz.layout import builtin_layout, dot_executable, layout_graph, to_dot

from .conftest import ALL_GRAPHS, GRAPHS, SHIPPED, graph_id

pytestmark = pytest.mark.timeout(120)
SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(dot_executable() is None, reason="Graphviz 'dot' not installed "
                                                                "(Debian: apt-get install graphviz)")


def svg_groups(svg_text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg_text)
    return {g.get("data-id"): g for g in root.iter(f"{SVG}g") if g.get("data-id")}


def overlaps(a, b, slack=1.0) -> bool:
    return a.x + slack < b.x + b.w and b.x + slack < a.x + a.w and a.y + slack < b.y + b.h and b.y + slack < a.y + a.h


@pytest.mark.parametrize("path", ALL_GRAPHS, ids=graph_id)
def test_every_graph_draws_in_every_format(path, tmp_path):
    model = build_model(path)
    if path.name == "viz_syntax_error.pbtxt":
        assert not model.nodes and model.issues
    else:
        assert any(n.kind == "calculator" for n in model.nodes)
    # the drawing reports exactly what loading the graph reports
    try:
        load_graph(path)
        expected = []
    except GraphConfigError as exc:
        expected = [str(issue) for issue in exc.issues]
    assert model.issues == expected
    if path.stem in ("viz_main", "viz_run"):
        assert model.valid
    formats = [".html", ".svg", ".dot"] + ([".png"] if dot_executable() else [])
    for suffix in formats:
        out = tmp_path / f"g{suffix}"
        draw(path, out)
        data = out.read_bytes()
        assert len(data) > 100, suffix
    groups = svg_groups((tmp_path / "g.svg").read_text())
    for n in model.nodes:
        assert n.id in groups and groups[n.id].get("data-name") == n.name
        assert f"k-{n.kind}" in groups[n.id].get("class")
        assert ("issue" in groups[n.id].get("class").split()) == bool(n.issues)
    for e in model.edges:
        cls = groups[e.id].get("class").split()
        assert ("back" in cls) == e.back_edge and ("side" in cls) == e.side
        assert groups[e.id].get("data-stream") == e.stream
    html = (tmp_path / "g.html").read_text()
    for n in model.nodes:
        assert f'data-name="{n.name}"' in html
    if dot_executable():
        assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_is_self_contained(tmp_path):
    draw(GRAPHS / "viz_main.pbtxt", tmp_path / "g.html")
    html = (tmp_path / "g.html").read_text()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html and "connect-src 'none'" in html
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html)
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", html.replace("http://www.w3.org/2000/svg", ""))
    assert "@import" not in html and "url(" not in html
    # both views are in the page
    assert 'data-view="expanded"' in html and 'data-view="collapsed"' in html


@needs_dot
def test_dot_output_is_valid_graphviz_with_clusters_and_edge_styles(tmp_path):
    model = build_model(GRAPHS / "viz_main.pbtxt")
    text = to_dot(model)
    assert text.count("subgraph cluster_") == 2
    back = [line for line in text.splitlines() if "constraint=false" in line]
    assert len(back) == 2 and all("style=dashed" in line for line in back)
    side = [line for line in text.splitlines() if "arrowhead=empty" in line]
    assert len(side) == 2
    proc = subprocess.run([dot_executable(), "-Tcanon"], input=text.encode(), capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    # the collapsed drawing has the subgraph as one node and no clusters
    collapsed = to_dot(model.collapsed())
    assert "cluster_" not in collapsed and "VizTestStage (4 nodes)" in collapsed


@pytest.mark.parametrize("engine", ["builtin", pytest.param("dot", marks=needs_dot)])
@pytest.mark.parametrize("path", [GRAPHS / "viz_main.pbtxt", GRAPHS / "viz_invalid.pbtxt"] + SHIPPED,
                         ids=graph_id)
def test_layout_places_every_node_without_overlaps(path, engine):
    model = build_model(path)
    for view in (model, model.collapsed()):
        layout = layout_graph(view, engine=engine)
        assert layout.engine == engine
        boxes = [layout.nodes[n.id] for n in view.nodes]
        assert len(boxes) == len(view.nodes)
        for i, a in enumerate(boxes):
            assert 0 <= a.x and a.x + a.w <= layout.width + 1 and 0 <= a.y and a.y + a.h <= layout.height + 1
            for b in boxes[i + 1:]:
                assert not overlaps(a, b), (a, b)
        assert set(layout.edges) == {e.id for e in view.edges}
        for c in view.clusters:  # a cluster frames every node inside it
            frame = layout.clusters[c.id]
            for n in view.nodes:
                if c.path in n.cluster:
                    box = layout.nodes[n.id]
                    assert frame.x <= box.x and box.x + box.w <= frame.x + frame.w + 0.5
                    assert frame.y <= box.y and box.y + box.h <= frame.y + frame.h + 0.5


def test_builtin_layout_puts_producers_above_consumers():
    model = build_model(GRAPHS / "viz_main.pbtxt")
    layout = builtin_layout(model)
    for e in model.edges:
        if not e.back_edge:
            assert layout.nodes[e.src].y < layout.nodes[e.dst].y, e


def test_drawing_the_largest_shipped_graph_is_fast(tmp_path):
    graphs = SHIPPED or [GRAPHS / "viz_main.pbtxt"]
    largest = max(graphs, key=lambda p: sum(n.kind == "calculator" for n in build_model(p).nodes))
    draw(largest, tmp_path / "warm.html")  # imports and the parse cache are not what is measured
    for suffix in (".html", ".svg"):
        start = time.perf_counter()
        draw(largest, tmp_path / f"g{suffix}")
        took = time.perf_counter() - start
        assert took < 1.0, f"{largest.name} -> {suffix} took {took:.2f} s"


def test_png_without_graphviz_falls_back_to_the_browser(tmp_path):
    from posegraph.viz.browser import find_browser
    if find_browser() is None:
        pytest.skip("no Chromium (apt-get install -y chromium)")
    data = render(build_model(GRAPHS / "viz_main.pbtxt"), "png", engine="builtin")
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_cli_viz(tmp_path, capsys):
    out = tmp_path / "main.svg"
    assert main(["viz", str(GRAPHS / "viz_main.pbtxt"), "-o", str(out), "--collapsed"]) == 0
    assert "wrote" in capsys.readouterr().out
    groups = svg_groups(out.read_text())
    assert any(g.get("data-kind") == "subgraph" for g in groups.values())
    # an invalid graph is drawn; --strict makes that an error
    bad = tmp_path / "bad.html"
    assert main(["viz", str(GRAPHS / "viz_invalid.pbtxt"), "-o", str(bad)]) == 0
    err = capsys.readouterr().err
    assert "4 problem(s)" in err and "viz_invalid.pbtxt:13" in err and bad.exists()
    assert main(["viz", str(GRAPHS / "viz_invalid.pbtxt"), "-o", str(bad), "--strict"]) == 2
    assert main(["viz", str(GRAPHS / "viz_main.pbtxt"), "-o", str(tmp_path / "x.jpeg")]) == 2  # usage error
    assert "cannot tell the format" in capsys.readouterr().err
    assert main(["viz", str(GRAPHS / "viz_main.pbtxt"), "-o", str(tmp_path / "b.svg"), "--layout", "builtin"]) == 0
    assert 'data-engine="builtin"' in (tmp_path / "b.svg").read_text()


def test_cli_viz_end_to_end_reports_its_time(tmp_path):
    """The largest shipped graph through `posegraph viz`; its < 1 s target is tools/bench_viz.py's, not a test's."""
    graphs = SHIPPED or [GRAPHS / "viz_main.pbtxt"]
    largest = max(graphs, key=lambda p: sum(n.kind == "calculator" for n in build_model(p).nodes))
    out = tmp_path / "largest.html"
    proc = subprocess.run([sys.executable, "-m", "posegraph.cli", "viz", str(largest), "-o", str(out)],
                          capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2])
    assert proc.returncode == 0, proc.stderr
    took = float(re.search(r"; ([\d.]+) s\)", proc.stdout).group(1))
    assert took > 0 and out.stat().st_size > 0, proc.stdout


def test_cli_viz_of_a_missing_graph_is_an_error(tmp_path, capsys):
    out = tmp_path / "missing.html"
    assert main(["viz", str(tmp_path / "nowhere.pbtxt"), "-o", str(out)]) == 2
    assert "cannot read graph file" in capsys.readouterr().err and not out.exists()
    assert main(["viz", "no_such_shipped_graph_name", "-o", str(out)]) == 2
    assert "not found" in capsys.readouterr().err and not out.exists()
