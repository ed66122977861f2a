"""The media apps' side-packet names live in posegraph.media_packets; the commands' flags follow that table."""

from __future__ import annotations

from posegraph import media_packets as media
from posegraph.cli import build_parser, main


def _run_options() -> dict[str, list[str]]:
    parser = build_parser(plugins=False)
    run = next(a for a in parser._actions if a.dest == "command").choices["run"]
    return {a.dest: a.option_strings for a in run._actions}


def test_every_flag_of_the_table_is_an_option_of_run():
    options = _run_options()
    for dest, side_packet in media.RUN_FLAGS.items():
        assert options[dest] == [media.flag(dest)], dest
        assert media.FLAG_FOR_SIDE[side_packet] == media.flag(dest)
    assert options["static"] == [media.FLAG_FOR_SIDE[media.USE_PREV_LANDMARKS]]


def test_graphs_lists_each_side_packet_by_its_flag(capsys):
    assert main(["graphs", "pose_tracking_cpu"]) == 0
    options = next(l for l in capsys.readouterr().out.splitlines() if "options:" in l).split()
    assert {"--input", "--output", "--landmarks", "--max-frames", "--static", "--model-complexity",
            "--masks"} <= set(options)
    assert not {f"{name}=" for name in media.FLAG_FOR_SIDE} & set(options)
