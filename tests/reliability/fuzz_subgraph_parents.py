"""Mutation fuzzing of shipped subgraph files, loading the graphs that use them.

Each case copies the shipped graphs into a fresh folder, mutates one subgraph file there (seeded: the same seed gives
the same cases), and loads every graph of the folder that uses that subgraph, directly or through others. The only
allowed outcomes are a ValidatedGraph or a PosegraphError (GraphConfigError) with a message. Cases run in a child
process with a per-case time limit, so a hang is counted (and the child replaced) instead of stopping the run.

    python tests/reliability/fuzz_subgraph_parents.py --cases 2000 --seed 1 [--limit 10]

tests/reliability/test_fuzz_subgraph_parents.py runs a bounded session in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

GRAPHS = Path(__file__).resolve().parents[2] / "graphs"

TOKENS = ["{", "}", "<", ">", "[", "]", ":", ",", ";", '"', "'", "\\", "#", "\n", " ", "-", "0", "1e9", "=",
          "99999999999999999999", "nan", "node {", "calculator: ", "input_stream: ", "output_stream: ",
          "input_side_packet: ", "output_side_packet: ", '"IN:x"', '"A:B:C:d"', "type: ", "options {",
          "node_options {", "executor: \"e\"", "back_edge: true", "\u00e9", "\x00", "num_threads: 2", "[ "]

# The child: reads one JSON case per line, answers one JSON outcome per line.
CHILD = r"""
import json, sys, traceback
from posegraph.config import load_graph
from posegraph.errors import PosegraphError
for line in sys.stdin:
    case = json.loads(line)
    outcome = {"kind": "ok"}
    for path in case["load"]:
        try:
            load_graph(path)
        except PosegraphError as exc:
            if not str(exc).strip():
                outcome = {"kind": "traceback", "detail": f"{path}: {type(exc).__name__} without a message"}
                break
            outcome = {"kind": "error"}
        except BaseException:
            outcome = {"kind": "traceback", "detail": f"{path}:\n{traceback.format_exc()}"}
            break
    sys.stdout.write(json.dumps(outcome) + "\n")
    sys.stdout.flush()
"""


@dataclass
class Report:
    cases: int = 0
    loads: int = 0
    accepted: int = 0
    rejected: int = 0
    hangs: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.cases} cases ({self.loads} graph loads) in {self.seconds:.1f} s: {self.accepted} accepted, "
                f"{self.rejected} rejected with GraphConfigError, {len(self.hangs)} hangs, "
                f"{len(self.tracebacks)} tracebacks")


def subgraph_parents(folder: Path) -> dict[str, list[str]]:
    """For each subgraph file name in `folder`: the other files that use it, directly or through others."""
    types, texts = {}, {}
    for path in sorted(folder.glob("*.pbtxt")):
        texts[path.name] = path.read_text(encoding="utf-8")
        found = re.search(r'^type:\s*"([^"]+)"', texts[path.name], re.M)
        if found:
            types[found.group(1)] = path.name
    users = {name: set() for name in texts}
    for name, text in texts.items():
        for type_name, file in types.items():
            if file != name and re.search(rf'calculator:\s*"{re.escape(type_name)}"', text):
                users[file].add(name)
    parents = {}
    for file in types.values():
        seen, todo = set(), [file]
        while todo:
            for user in users[todo.pop()]:
                if user not in seen:
                    seen.add(user)
                    todo.append(user)
        if seen:
            parents[file] = sorted(seen)
    return parents


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        n = len(text)
        op = rng.choice(["delete", "insert", "replace", "dup_line", "swap_lines", "truncate"])
        if op == "delete" and n:
            i = rng.randrange(n)
            text = text[:i] + text[i + rng.randint(1, 20):]
        elif op == "insert":
            i = rng.randint(0, n)
            text = text[:i] + rng.choice(TOKENS) + text[i:]
        elif op == "replace" and n:
            i = rng.randrange(n)
            text = text[:i] + rng.choice(TOKENS + list("[]{}:\"x0")) + text[i + 1:]
        elif op in ("dup_line", "swap_lines"):
            lines = text.split("\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            if op == "dup_line":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        elif op == "truncate":
            text = text[: rng.randint(0, n)]
    return text


class Child:
    """The loader in a child process: each case gets `limit` seconds, then the child is killed and replaced."""

    def __init__(self, limit: float):
        self.limit = limit
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env)

    def run(self, load: list[str]) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
            limit = self.limit + 60  # the first case also pays for importing posegraph and its calculators
        else:
            limit = self.limit
        self.proc.stdin.write(json.dumps({"load": load}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], limit)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            died = self.proc.poll()
            self.stop()
            return {"kind": "hang" if died is None else "traceback",
                    "detail": "no answer" if died is None else f"child exited with {died}"}
        return json.loads(line)

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            self.proc = None


def fuzz(cases: int, seed: int = 0, limit: float = 10.0, budget: float | None = None) -> Report:
    """Run up to `cases` cases (stopping early once `budget` seconds are spent)."""
    rng = random.Random(seed)
    report = Report()
    start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="posegraph-subfuzz-"))
    child = Child(limit)
    try:
        originals = {p.name: p.read_text(encoding="utf-8") for p in GRAPHS.glob("*.pbtxt")}
        parents = subgraph_parents(GRAPHS)
        targets = sorted(parents)
        for k in range(cases):
            if budget is not None and time.monotonic() - start > budget:
                break
            target = targets[k % len(targets)]
            folder = work / f"case{k}"
            folder.mkdir()
            for name, text in originals.items():
                (folder / name).write_text(text, encoding="utf-8")
            (folder / target).write_text(mutate(originals[target], rng), encoding="utf-8")
            load = [str(folder / name) for name in parents[target]]
            outcome = child.run(load)
            report.cases += 1
            report.loads += len(load)
            where = f"case {k} (seed {seed}, {target}): "
            if outcome["kind"] == "ok":
                report.accepted += 1
            elif outcome["kind"] == "error":
                report.rejected += 1
            elif outcome["kind"] == "hang":
                report.hangs.append(where + (folder / target).read_text(encoding="utf-8"))
                continue  # keep the folder for a look
            else:
                report.tracebacks.append(where + outcome.get("detail", ""))
                continue
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        child.stop()
        report.seconds = time.monotonic() - start
        if not report.hangs and not report.tracebacks:
            shutil.rmtree(work, ignore_errors=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=10.0, help="seconds allowed per case")
    args = parser.parse_args()
    report = fuzz(args.cases, args.seed, args.limit)
    for item in report.hangs + report.tracebacks:
        print(item[:2000], "\n---")
    print(report.summary())
    sys.exit(1 if report.hangs or report.tracebacks else 0)


if __name__ == "__main__":
    main()
