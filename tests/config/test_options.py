"""Typed options: dataclass -> proto2 message at run time, both MediaPipe syntaxes, errors with line numbers."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

import pytest
from cfg_helpers import (Anchor, Box, CfgAllKinds, CfgAllKindsOptions, CfgNested, CfgScale, CfgScaleOptions, Color,
                         Interp, line_of)

from posegraph.calculator import Calculator, Output
from posegraph.config import GraphConfigError, load_graph, options_message_class
from posegraph.config import options as options_mod
from posegraph.registry import calculator

pytestmark = pytest.mark.timeout(60)


def one_node(body: str, calc: str = "TestCfgAllKinds") -> str:
    return f"""
output_stream: "out"
node {{
  calculator: "{calc}"
  output_stream: "OUT:out"
{body}
}}
"""


def options_of(text: str):
    graph = load_graph(text)
    assert len(graph.nodes) == 1
    return graph.nodes[0].options


def test_message_class_and_extension():
    message_class = options_message_class(CfgAllKinds)
    assert message_class.DESCRIPTOR.full_name == "posegraph.CfgAllKindsOptions"
    info = options_mod.options_type(CfgAllKindsOptions)
    assert info.extension.full_name == "posegraph.CfgAllKindsOptions.ext"
    assert info.extension.containing_type.full_name == "posegraph.CalculatorOptions"
    assert info.extension.number == options_mod.extension_number("posegraph.CfgAllKindsOptions")
    assert 20000 <= info.extension.number < 2**29
    assert options_message_class(CfgScale) is options_message_class(CfgScale)  # cached
    assert options_message_class(Calculator) is None


def test_nested_options_class_is_named_after_calculator():
    assert options_message_class(CfgNested).DESCRIPTOR.full_name == "posegraph.CfgNestedOptions"
    text = one_node("  options { [posegraph.CfgNestedOptions.ext] { gain: 2.5 } }", "TestCfgNested")
    assert options_of(text).gain == 2.5


def test_defaults_when_no_options_block():
    assert options_of(one_node("")) == CfgAllKindsOptions()


def test_all_field_kinds_extension_syntax():
    text = one_node("""
  options {
    [posegraph.CfgAllKindsOptions.ext] {
      flag: true
      count: -7
      ratio: 2
      label: "hello"
      blob: "\\001\\002"
      interp: CUBIC
      color: GREEN
      box { width: 3 height: 4 anchor { stride: 32 scales: 1.5 scales: 2.5 interp: LINEAR } }
      strides: 8
      strides: 16
      strides: 32
      ratios: [0.5, 1.0, 2.0]
      names: "a" names: "b"
      modes: [NEAREST, CUBIC]
      anchors { stride: 1 }
      anchors { stride: 2 interp: CUBIC }
      threshold: 0.25
    }
  }""")
    got = options_of(text)
    assert got == CfgAllKindsOptions(
        flag=True, count=-7, ratio=2.0, label="hello", blob=b"\x01\x02", interp=Interp.CUBIC, color=Color.GREEN,
        box=Box(3, 4, Anchor(32, [1.5, 2.5], Interp.LINEAR)), strides=[8, 16, 32], ratios=(0.5, 1.0, 2.0),
        names=["a", "b"], modes=[Interp.NEAREST, Interp.CUBIC], anchors=[Anchor(1), Anchor(2, [], Interp.CUBIC)],
        threshold=0.25, extra_box=None)
    assert isinstance(got.ratios, tuple) and isinstance(got.strides, list)
    assert isinstance(got.ratio, float) and isinstance(got.count, int)


def test_unset_fields_keep_dataclass_defaults():
    got = options_of(one_node("  options { [posegraph.CfgAllKindsOptions.ext] { count: 1 box { width: 2 } } }"))
    defaults = CfgAllKindsOptions()
    assert got.count == 1
    assert got.strides == [8, 16] and got.ratios == (1.0,) and got.interp is Interp.LINEAR
    assert got.box == Box(width=2) and got.box.anchor == Anchor()
    assert got.threshold is None and got.extra_box is None
    assert got.label == defaults.label


def test_optional_nested_message():
    got = options_of(one_node("  options { [posegraph.CfgAllKindsOptions.ext] { extra_box { height: 9 } } }"))
    assert got.extra_box == Box(height=9)


def test_any_syntax():
    text = one_node("""
  node_options {
    [type.googleapis.com/posegraph.CfgAllKindsOptions] { count: 11 interp: NEAREST strides: [4] }
  }""")
    got = options_of(text)
    assert (got.count, got.interp, got.strides) == (11, Interp.NEAREST, [4])


def test_options_extension_wins_over_any_of_same_type():
    text = one_node("""
  options { [posegraph.CfgAllKindsOptions.ext] { count: 1 } }
  node_options { [type.googleapis.com/posegraph.CfgAllKindsOptions] { count: 2 } }""")
    assert options_of(text).count == 1


def test_unknown_option_field_reports_line_and_suggestion():
    text = one_node("""
  options {
    [posegraph.CfgAllKindsOptions.ext] {
      count: 1
      stride: 8
    }
  }""")
    with pytest.raises(GraphConfigError) as err:
        load_graph(text)
    (issue,) = err.value.issues
    assert issue.line == line_of(text, "stride: 8")
    assert "no field named \"stride\"" in issue.message and "strides" in issue.message
    assert "column" in issue.message


def test_wrong_option_type_reports_line(tmp_path):
    text = one_node("""
  options {
    [posegraph.CfgAllKindsOptions.ext] {
      count: 0.5
    }
  }""")
    path = tmp_path / "bad_type.pbtxt"
    path.write_text(text)
    with pytest.raises(GraphConfigError) as err:
        load_graph(path)
    (issue,) = err.value.issues
    assert issue.file == str(path)
    assert issue.line == text.splitlines().index("      count: 0.5") + 1
    assert "integer" in issue.message
    assert f"{path}:{issue.line}" in str(err.value)


def test_bad_enum_value_reports_line():
    text = one_node("  options { [posegraph.CfgAllKindsOptions.ext] { interp: BILINEAR } }")
    with pytest.raises(GraphConfigError) as err:
        load_graph(text)
    assert err.value.issues[0].line == line_of(text, "BILINEAR")
    assert "BILINEAR" in str(err.value)


def test_unsupported_field_explains_why():
    text = one_node("  options { [posegraph.CfgAllKindsOptions.ext] { lookup: 1 } }")
    with pytest.raises(GraphConfigError) as err:
        load_graph(text)
    assert "cannot be set from a graph file" in str(err.value)
    assert "dict" in str(err.value)


def test_unknown_extension_and_unknown_any_type_have_lines():
    text = one_node("  options { [posegraph.CfgAllKindOptions.ext] { count: 1 } }")
    with pytest.raises(GraphConfigError) as err:
        load_graph(text)
    assert err.value.issues[0].line == line_of(text, "CfgAllKindOptions")
    assert "posegraph.CfgAllKindsOptions.ext" in str(err.value)  # suggestion
    text = one_node("  node_options { [type.googleapis.com/posegraph.NoSuchOptions] { count: 1 } }")
    with pytest.raises(GraphConfigError) as err:
        load_graph(text)
    assert err.value.issues[0].line == line_of(text, "NoSuchOptions")
    assert "NoSuchOptions" in str(err.value)


def test_options_of_another_calculator_is_an_issue():
    text = one_node("  options { [posegraph.CfgScaleOptions.ext] { factor: 2 } }")
    with pytest.raises(GraphConfigError) as err:
        load_graph(text)
    (issue,) = err.value.issues
    assert issue.node == "TestCfgAllKinds" and issue.line == line_of(text, "CfgScaleOptions")
    assert "not the options of TestCfgAllKinds" in issue.message
    assert "[posegraph.CfgAllKindsOptions.ext]" in issue.message


def test_options_on_calculator_without_options():
    text = """
input_stream: "x"
node { calculator: "TestCfgToStr" input_stream: "IN:x" output_stream: "OUT:y"
  options { [posegraph.CfgScaleOptions.ext] { factor: 2 } } }
"""
    with pytest.raises(GraphConfigError) as err:
        load_graph(text)
    assert "takes no options" in str(err.value)
    assert err.value.issues[0].line == 4


def test_post_init_validation_becomes_issue():
    text = """
input_stream: "x"
node {
  name: "scaler"
  calculator: "TestCfgScale"
  input_stream: "x"
  output_stream: "y"
  options { [posegraph.CfgScaleOptions.ext] { factor: -1 } }
}
"""
    with pytest.raises(GraphConfigError) as err:
        load_graph(text)
    (issue,) = err.value.issues
    assert (issue.node, issue.line) == ("scaler", 8)
    assert "factor must be positive" in issue.message
    assert "<graph>:8: node 'scaler'" in str(issue)


def test_required_option_fields():
    with pytest.raises(GraphConfigError) as err:
        load_graph(one_node("", "TestCfgRequired"))
    assert "'model_path'" in str(err.value) and "not set" in str(err.value)
    with pytest.raises(GraphConfigError) as err:
        load_graph(one_node("  options { [posegraph.CfgRequiredOptions.ext] { threads: 2 } }", "TestCfgRequired"))
    assert "'model_path'" in str(err.value)
    got = options_of(one_node('  options { [posegraph.CfgRequiredOptions.ext] { model_path: "m.tflite" } }',
                              "TestCfgRequired"))
    assert (got.model_path, got.threads) == ("m.tflite", 1)


def test_proto_name_override_and_clash():
    @dataclass
    class Renamed:
        value: int = 0
    Renamed.__proto_name__ = "cfgtest.custom.RenamedOptions"

    @calculator("TestCfgRenamed")
    class CfgRenamed(Calculator):
        OUT = Output[float]("OUT")
        Options = Renamed

    assert options_message_class(CfgRenamed).DESCRIPTOR.full_name == "cfgtest.custom.RenamedOptions"
    got = options_of(one_node("  options { [cfgtest.custom.RenamedOptions.ext] { value: 4 } }", "TestCfgRenamed"))
    assert got == Renamed(4)

    @dataclass
    class CfgScaleOptions:  # same message name as cfg_helpers.CfgScaleOptions, different class
        other: str = ""

    with pytest.raises(options_mod.OptionsTypeError, match="__proto_name__"):
        options_mod.options_type(CfgScaleOptions)


def test_extension_numbers_are_deterministic_and_distinct():
    names = [f"posegraph.Opt{i}" for i in range(2000)]
    numbers = [options_mod.extension_number(n) for n in names]
    assert numbers == [options_mod.extension_number(n) for n in names]
    assert all(20000 <= n < 2**29 for n in numbers)
    assert len(set(numbers)) == len(numbers)


class Side(enum.Enum):
    left = 1
    right = 2


@dataclass
class CfgClashOptions:
    left: int = 0  # the same name as an enum value: the enum gets a scope of its own
    side: Side = Side.right


def test_enum_values_clashing_with_fields_are_scoped():
    info = options_mod.options_type(CfgClashOptions)
    message = info.message_class()
    assert dataclasses.asdict(options_mod.to_dataclass(message, info)) == {"left": 0, "side": Side.right}
    from google.protobuf import text_format
    text_format.Parse("left: 3 side: left", message)
    assert options_mod.to_dataclass(message, info) == CfgClashOptions(3, Side.left)


def test_scale_options_identity():
    assert options_mod.options_type(CfgScaleOptions).dataclass is CfgScaleOptions


def test_unresolvable_annotation_skips_only_that_field():
    class Local(enum.Enum):
        A = 1

    @dataclass
    class CfgLocalOptions:
        ok: int = 0
        local: Local = Local.A  # a string annotation naming a function-local class

    info = options_mod.options_type(CfgLocalOptions)
    assert set(info.root.fields) == {"ok"}
    assert "cannot be resolved" in info.root.skipped["local"]
