"""Port of mediapipe/framework/stream_handler/sync_set_input_stream_handler_test.cc: command sets on independent
sync sets are interleaved at random (fixed seeds; 8 shuffles instead of 1000), one sync set is dropped from the
options at random (its inputs then form the leftover set), and after each batch of commands the node's calls must be
exactly MediaPipe's (as a multiset, like UnorderedElementsAreArray)."""

from __future__ import annotations

import random

import pytest

from posegraph import Timestamp

from .mp import RECORDS, Harness

pytestmark = pytest.mark.timeout(120)

DONE, PRE, POST = Timestamp.DONE, Timestamp.PRE_STREAM, Timestamp.POST_STREAM
SETS = [[":0", ":2", ":4"], [":1", ":3"], [":5"], [":6"], [":7"]]


def command_sets():
    c = lambda stream, ts, *expected: (stream, ts, list(expected))  # noqa: E731
    sets = [
        [c("a", 0), c("c", 0), c("a", 10), c("e", 0, "Timestamp(0),0,2,4"), c("c", 10),
         c("e", 10, "Timestamp(10),0,2,4"), c("e", 20), c("a", 20), c("c", 20, "Timestamp(20),0,2,4"), c("c", 30),
         c("a", 30), c("a", 40), c("a", 50), c("c", 40), c("a", DONE),
         c("e", 40, "Timestamp(30),0,2", "Timestamp(40),0,2,4"), c("c", 50), c("e", 50, "Timestamp(50),0,2,4"),
         c("c", 60), c("c", 70), c("c", DONE), c("e", DONE, "Timestamp(60),2", "Timestamp(70),2")],
        [c("b", -300), c("b", -200), c("b", -100), c("d", -200, "Timestamp(-300),1", "Timestamp(-200),1,3"),
         c("d", -20, "Timestamp(-100),1"), c("d", -10), c("b", 0, "Timestamp(-20),3", "Timestamp(-10),3"),
         c("d", 0, "Timestamp(0),1,3"), c("d", 10), c("b", 10, "Timestamp(10),1,3"), c("b", 20),
         c("d", 200, "Timestamp(20),1"), c("b", 100, "Timestamp(100),1"), c("b", 200, "Timestamp(200),1,3"),
         c("b", 250), c("b", 300), c("d", DONE, "Timestamp(250),1", "Timestamp(300),1"), c("b", DONE)],
        [c("f", t, f"Timestamp({t}),5") for t in range(-350, 350, 35)] + [c("f", DONE)],
        [c("g", PRE, "Timestamp::PreStream(),6"), c("g", DONE)],
        [c("h", POST, "Timestamp::PostStream(),7"), c("h", DONE)],
    ]
    return sets


def graph_text(sets):
    options = " ".join("sync_set { " + " ".join(f"tag_index: '{t}'" for t in s) + " }" for s in sets)
    return ("".join(f"input_stream: '{x}'\n" for x in "abcdefgh")
            + "node { name: 'lambda' calculator: 'MpInputsToDebugStringCalculator' "
            + " ".join(f"input_stream: '{x}'" for x in "abcdefgh")
            + " input_stream_handler { input_stream_handler: 'SyncSetInputStreamHandler' options { "
            + f"[posegraph.SyncSetInputStreamHandlerOptions.ext] {{ {options} }} }} }} }}\n")


@pytest.mark.parametrize("seed", range(8))
def test_ordinary_operation(seed):
    """TEST(SyncSetInputStreamHandlerTest, OrdinaryOperation)."""
    rng = random.Random(seed)
    sets = command_sets()
    shuffled = []
    positions = [0] * len(sets)
    while len(shuffled) < sum(len(s) for s in sets):
        k = rng.choices(range(len(sets)), weights=[len(s) for s in sets])[0]
        if positions[k] < len(sets[k]):
            shuffled.append(sets[k][positions[k]])
            positions[k] += 1
    config_sets = [list(s) for s in SETS]
    remove = rng.randrange(len(config_sets) + 1)
    if remove < len(config_sets):
        del config_sets[remove]
    rng.shuffle(config_sets)
    RECORDS.clear()
    h = Harness(graph_text(config_sets), [])
    i = 0
    while i < len(shuffled):
        batch = shuffled[i:i + rng.randrange(10)] or []
        i += max(1, len(batch)) if batch else 0
        if not batch:
            h.idle()
            continue
        expected = []
        for stream, ts, strings in batch:
            expected += strings
            if ts == DONE:
                h.graph.close_input(stream)
            else:
                h.send(stream, 0, ts)
        h.idle()
        actual = RECORDS.pop("lambda", [])
        assert sorted(actual) == sorted(expected), (batch, actual, expected)
    h.close()
