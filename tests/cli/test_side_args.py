"""``--side KEY=VALUE``: one parser for `posegraph run`, `posegraph batch` and `posegraph train-classifier`."""

from __future__ import annotations

import pytest

from posegraph.cli import main
from posegraph.cli_report import EXIT_USAGE, UsageError
from posegraph.side_args import parse_side_args, parse_side_value


@pytest.mark.parametrize("text, value", [("true", True), (" FALSE ", False), ("3", 3), ("-2", -2), ("0.5", 0.5),
                                         ("1e3", 1000.0), ("a.mp4", "a.mp4"), ("", ""), ("truthy", "truthy")])
def test_values_become_bools_numbers_or_strings(text, value):
    parsed = parse_side_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_items_become_side_packets_later_key_wins_value_may_hold_equals():
    assert parse_side_args(["a=1", "b=x=y", "a=true", "c="]) == {"a": True, "b": "x=y", "c": ""}
    assert parse_side_args(None) == {} and parse_side_args([]) == {}


@pytest.mark.parametrize("item", ["novalue", "=1"])
def test_item_without_key_is_a_usage_error_naming_it(item):
    with pytest.raises(UsageError, match=f"--side expects KEY=VALUE, got {item!r}"):
        parse_side_args(["ok=1", item])


@pytest.mark.parametrize("command", [["run", "movenet_singlepose", "--input", "x.jpg"],
                                     ["batch", "movenet_singlepose", "--inputs", "x.jpg", "--out", "out"],
                                     ["train-classifier", "dir", "-o", "x.npz"]])
def test_every_command_gives_the_same_message_and_exit_code(command, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--side", "oops"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == "posegraph: error: --side expects KEY=VALUE, got 'oops'\n"
    assert not (tmp_path / "out").exists()
