"""Coverage-guided fuzzing of the graph-file loader with atheris (libFuzzer): the only allowed outcomes for any
input are a ValidatedGraph or a GraphConfigError.

    python tests/reliability/fuzz_graph_loader.py -runs=5000 [corpus_dir]

Seeds are the shipped graphs. tests/reliability/test_fuzz_atheris.py runs a bounded session.
"""

import sys

import atheris

with atheris.instrument_imports():
    from posegraph.config import load_graph
    from posegraph.errors import GraphConfigError

def fuzz_one(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    if "{" not in text and "\n" not in text:
        text += "\n"  # always parse as graph text, never as a file name
    try:
        load_graph(text)
    except GraphConfigError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, fuzz_one)
    atheris.Fuzz()  # libFuzzer prints "Done N runs" and exits the process


if __name__ == "__main__":
    main()
