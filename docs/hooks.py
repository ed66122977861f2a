"""MkDocs hooks that keep the site in step with the code and the README instead of copying them.

``<!-- readme: Heading -->`` is replaced by that README section (up to the next heading of the same level), and
``<!-- cli-reference -->`` by the ``--help`` of every built-in command, generated from the argument parser.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^(#+) {re.escape(title)}\n", text, re.M)
    if match is None:
        raise ValueError(f"README has no section {title!r}")
    level = len(match.group(1))
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    body = rest[:end.start()] if end else rest
    # links to repository files are not pages of the site: keep their text, name the file
    return re.sub(r"\[([^\]]+)\]\((?!https?://)([^)#]+\.md)\)", r"`\2` in the repository", body)


def cli_reference() -> str:
    from posegraph.cli import build_parser

    parser = build_parser(plugins=True)
    parts = ["```text", parser.format_help().rstrip(), "```"]
    for action in parser._actions:  # noqa: SLF001 - argparse has no public view of its sub-commands
        if getattr(action, "dest", None) != "command":
            continue
        for name, sub in action.choices.items():
            parts += [f"\n## posegraph {name}\n", "```text", sub.format_help().rstrip(), "```"]
            for nested in sub._actions:  # noqa: SLF001
                if isinstance(getattr(nested, "choices", None), dict):
                    for child, parser_ in nested.choices.items():
                        parts += [f"\n### posegraph {name} {child}\n", "```text", parser_.format_help().rstrip(),
                                  "```"]
    return "\n".join(parts)


def on_page_markdown(markdown: str, **kwargs) -> str:
    markdown = re.sub(r"<!-- readme: (.+?) -->", lambda m: readme_section(m.group(1).strip()), markdown)
    if "<!-- cli-reference -->" in markdown:
        markdown = markdown.replace("<!-- cli-reference -->", cli_reference())
    return markdown
