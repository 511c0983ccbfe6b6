"""Malformed definitions are rejected with a message naming the file, the field and the problem."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sciplab._core.errors import InstrumentDefinitionError
from sciplab.instruments import list_instruments, load_definition
from sciplab.instruments.validate import parse_definition

VALID = """\
format = 1
id = "TST-4"
name = "Test scale"
citation = "Doe, J. (2024). A test. Journal of Tests, 1, 1-2."
items = 4
scoring = "mean"

[response]
min = 1
max = 5
anchors = { 1 = "Never", 5 = "Always" }
source = "Doe (2024)"

[licence]
item_text = false
statement = "Copyright the author."
source = "Doe (2024)"
status = "verified"

[key]
status = "verified"
reverse = [2]
sources = ["Doe (2024), Appendix"]

[[scales]]
name = "a"
label = "Scale A"
construct = "social_support"
items = [1, 2]
missing = { min_answered = 2, prorate = false, source = "none published" }

[[scales]]
name = "b"
label = "Scale B"
items = [3, 4]
missing = { min_answered = 1, prorate = true, source = "Doe (2024)" }

[[norms]]
id = "students"
sample = "Students"
n = 100
population = "functional"
source = "Doe (2024)"
status = "single-source"
[norms.scales]
a = { mean = 3.0, sd = 1.0 }

[[cutoffs]]
scale = "a"
value = 4
bands = [{ label = "low", min = 1, max = 2 }, { label = "high", min = 3, max = 5 }]
source = "Doe (2024)"
status = "verified"

[[reliable_change]]
scale = "b"
points = 1.5
source = "Doe (2024)"
status = "single-source"

[[reliability]]
scale = "a"
alpha = 0.8
source = "Doe (2024)"
status = "single-source"

[[flags]]
name = "risk"
items = [4]
above = 3
message = "high"
source = "Doe (2024)"
"""


def write(tmp_path: Path, text: str, name: str = "TST-4.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def reject(tmp_path: Path, text: str, *fragments: str) -> str:
    p = write(tmp_path, text)
    with pytest.raises(InstrumentDefinitionError) as exc:
        load_definition(p)
    msg = str(exc.value)
    assert str(p) in msg, msg  # names the file
    for frag in fragments:
        assert frag in msg, msg
    return msg


def test_the_valid_snippet_loads(tmp_path: Path) -> None:
    inst = load_definition(write(tmp_path, VALID))
    assert inst.id == "TST-4" and inst.key.reverse == (2,)
    assert inst.scale("B").missing.min_answered == 1
    assert inst.column_prefixes[0] == "TST4"


def test_missing_required_field(tmp_path: Path) -> None:
    reject(tmp_path, VALID.replace('name = "Test scale"\n', ""), "field 'name'", "required but missing")


def test_missing_required_nested_field(tmp_path: Path) -> None:
    reject(
        tmp_path,
        VALID.replace('source = "Doe (2024)"\n\n[licence]', "\n[licence]"),
        "field 'response.source'",
        "required",
    )


def test_unknown_field_with_suggestion(tmp_path: Path) -> None:
    text = VALID.replace('construct = "social_support"', 'constuct = "social_support"')
    reject(tmp_path, text, "field 'scales[0].constuct'", "unknown field", "did you mean 'construct'")


def test_unknown_top_level_field_with_suggestion(tmp_path: Path) -> None:
    reject(
        tmp_path,
        VALID.replace("items = 4\n", "items = 4\ndescriptoin = 'x'\n"),
        "field 'descriptoin'",
        "did you mean 'description'",
    )


def test_reverse_item_out_of_range(tmp_path: Path) -> None:
    reject(
        tmp_path,
        VALID.replace("reverse = [2]", "reverse = [2, 7]"),
        "field 'key.reverse'",
        "item 7 is not an item",
        "1-4",
    )


def test_scale_item_out_of_range(tmp_path: Path) -> None:
    reject(tmp_path, VALID.replace("items = [3, 4]", "items = [3, 5]"), "field 'scales[1].items'", "item 5")


def test_item_listed_twice(tmp_path: Path) -> None:
    reject(
        tmp_path,
        VALID.replace("items = [1, 2]", "items = [1, 2, 1]"),
        "field 'scales[0].items'",
        "item 1 is listed twice",
    )


def test_unknown_construct(tmp_path: Path) -> None:
    reject(
        tmp_path,
        VALID.replace('"social_support"', '"social_suport"'),
        "field 'scales[0].construct'",
        "unknown SCIP construct",
        "did you mean 'social_support'",
    )


def test_item_text_while_licence_forbids(tmp_path: Path) -> None:
    text = VALID.replace("[[scales]]", '[item_text]\n1 = "I feel fine"\n\n[[scales]]', 1)
    reject(tmp_path, text, "field 'item_text'", "licence.item_text = false")


def test_item_text_allowed_when_licence_allows(tmp_path: Path) -> None:
    text = VALID.replace("item_text = false", 'item_text = true\ntext_source = "Doe (2024), Appendix"').replace(
        "[[scales]]", '[item_text]\n1 = "I feel fine"\n\n[[scales]]', 1
    )
    assert load_definition(write(tmp_path, text)).item_text == {1: "I feel fine"}
    # shipped wording must say where it came from (issue 10.19)
    reject(tmp_path, text.replace('text_source = "Doe (2024), Appendix"\n', ""), "field 'licence.text_source'")


@pytest.mark.parametrize("value", [0, 3, -1])
def test_min_answered_out_of_range(tmp_path: Path, value: int) -> None:
    text = VALID.replace("min_answered = 2,", f"min_answered = {value},")
    reject(tmp_path, text, "field 'scales[0].missing.min_answered'", "between 1 and the 2 items")


def test_bad_toml_syntax_gives_line_and_column(tmp_path: Path) -> None:
    text = VALID.replace('name = "Test scale"', 'name = "Test scale')
    msg = reject(tmp_path, text, "not valid TOML")
    assert "line 3" in msg and "column" in msg


def test_norm_referring_to_unknown_scale(tmp_path: Path) -> None:
    reject(
        tmp_path,
        VALID.replace("a = { mean = 3.0", "c = { mean = 3.0"),
        "field 'norms[0].scales.c'",
        "unknown scale 'c'",
    )


def test_cutoff_referring_to_unknown_scale(tmp_path: Path) -> None:
    reject(
        tmp_path,
        VALID.replace('scale = "a"\nvalue = 4', 'scale = "A2"\nvalue = 4'),
        "field 'cutoffs[0].scale'",
        "unknown scale",
    )


def test_wrong_type(tmp_path: Path) -> None:
    reject(tmp_path, VALID.replace("items = 4\n", 'items = "four"\n'), "field 'items'", "whole number")


def test_bad_status(tmp_path: Path) -> None:
    reject(
        tmp_path,
        VALID.replace('status = "verified"\nreverse', 'status = "unverified"\nreverse'),
        "field 'key.status'",
        "must be one of",
    )


def test_structure_only_file_must_not_assign_items(tmp_path: Path) -> None:
    text = VALID.replace('[key]\nstatus = "verified"\nreverse = [2]\nsources = ["Doe (2024), Appendix"]\n', "")
    reject(tmp_path, text, "field 'scales[0].items'", "structure only")


def test_item_count_zero_only_without_key(tmp_path: Path) -> None:
    reject(tmp_path, VALID.replace("items = 4\n", "items = 0\n"), "field 'items'", "between 1 and 1000")
    structure = """\
id = "TST-0"
name = "Unknown length"
citation = "Doe (2024)"
items = 0
scoring = "mean"
structure_source = "item count UNVERIFIED"
[response]
min = 1
max = 5
source = "placeholder"
[licence]
item_text = false
statement = "unknown"
source = "none"
status = "unverified"
[[scales]]
name = "a"
label = "A"
"""
    inst = load_definition(write(tmp_path, structure, "TST-0.toml"))
    assert inst.n_items == 0 and inst.key is None


def test_list_entry_that_is_not_a_table(tmp_path: Path) -> None:
    reject(tmp_path, VALID + "\nreliable_change = 3\n", "reliable_change")
    raw = tomllib.loads(VALID)
    raw["norms"] = [5]
    with pytest.raises(InstrumentDefinitionError, match=r"norms\[0\]'.*must be a table"):
        parse_definition(raw, "mem.toml")


def test_user_folder_clashing_with_a_shipped_id(tmp_path: Path) -> None:
    text = VALID.replace('id = "TST-4"', 'id = "phq9"')
    path = write(tmp_path, text, "phq9.toml")
    with pytest.raises(InstrumentDefinitionError) as exc:
        list_instruments(tmp_path)
    msg = str(exc.value)
    assert str(path) in msg and "field 'id'" in msg and "already defined" in msg and "PHQ-9.toml" in msg


def test_user_alias_clashing_with_a_shipped_id(tmp_path: Path) -> None:
    text = VALID.replace("citation =", 'aliases = ["GAD7"]\ncitation =')
    write(tmp_path, text)
    with pytest.raises(InstrumentDefinitionError, match="already defined"):
        list_instruments(tmp_path)


def test_non_toml_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(InstrumentDefinitionError, match="not found"):
        load_definition(tmp_path / "nope.toml")
    p = tmp_path / "x.yaml"
    p.write_text("id: x")
    with pytest.raises(InstrumentDefinitionError, match="must be TOML"):
        load_definition(p)


# ------------------------------------------------------------------------------------------------
# property test: random mutations either load or raise InstrumentDefinitionError

BASE = tomllib.loads(VALID)
REPLACEMENTS = st.sampled_from(
    [
        None,
        0,
        -3,
        1,
        7,
        2.5,
        float("nan"),
        True,
        "",
        "x",
        "social_support",
        [],
        [1],
        [1, 1],
        ["a"],
        {},
        {"a": 1},
        [{}],
        [{"x": 1}],
        10**30,
        1e-300,
        1e300,
        float("inf"),
        -0.0,
        "PA",
        "a_z",
        "[bold]x[/bold]",
        "١",
        {"label": "low", "min": 1, "max": 2},
    ]
)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(_paths(v, (*prefix, i)))
    return out


PATHS = _paths(BASE)


@st.composite
def mutated(draw: st.DrawFn) -> dict:
    raw = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent: Any = raw
        try:
            for step in path[:-1]:
                parent = parent[step]
            last = path[-1]
            parent[last]  # noqa: B018 - path may have vanished after an earlier mutation
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict | list):  # an earlier mutation turned a table into text
            continue
        if isinstance(parent, list) and draw(st.booleans()):  # repeat an entry: same band, flag, scale ...
            parent.append(copy.deepcopy(parent[last]))
            continue
        new = draw(REPLACEMENTS)
        if new is None:  # drop the key / list element
            del parent[last]
        else:
            parent[last] = copy.deepcopy(new)
    return raw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_random_mutations_load_or_raise_definition_error(raw: dict) -> None:
    try:
        inst = parse_definition(raw, "mutant.toml")
    except InstrumentDefinitionError as exc:
        assert str(exc).startswith("mutant.toml: ")
    else:
        assert inst.id and inst.scales


def test_every_construct_has_one_polarity():
    from sciplab.instruments.schema import CONSTRUCT_HIGHER_IS_WORSE, CONSTRUCTS

    assert set(CONSTRUCT_HIGHER_IS_WORSE) == set(CONSTRUCTS)
    assert CONSTRUCT_HIGHER_IS_WORSE["distress"] is True
    assert CONSTRUCT_HIGHER_IS_WORSE["social_support"] is False


# Fuzz: whatever loads must score (issue 11.6). Mutations of the test file and of shipped definitions.

SHIPPED_RAW = {
    p.stem: tomllib.loads(p.read_text(encoding="utf-8"))
    for p in sorted(Path(str(resources.files("sciplab.instruments") / "definitions")).glob("*.toml"))
    if p.stem in ("PHQ-9", "K10", "IIP-SC", "CORE-OM", "ECR-S", "MSPSS")
}


@st.composite
def mutated_any(draw: st.DrawFn) -> dict:
    base = draw(st.sampled_from([BASE, *SHIPPED_RAW.values()]))
    raw = copy.deepcopy(base)
    paths = _paths(raw)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent: Any = raw
        try:
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]]  # noqa: B018 - path may have vanished after an earlier mutation
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict | list):
            continue
        if isinstance(parent, list) and draw(st.booleans()):
            parent.append(copy.deepcopy(parent[path[-1]]))
            continue
        new = draw(REPLACEMENTS)
        if new is None:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(new)
    return raw


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_any(), st.integers(0, 2**32 - 1))
def test_fuzz_a_definition_that_loads_always_scores(raw: dict, seed: int) -> None:
    import numpy as np
    import pandas as pd

    import sciplab
    from sciplab.scoring.columns import default_column_name

    try:
        inst = parse_definition(raw, "mutant.toml")
    except InstrumentDefinitionError as exc:
        assert str(exc).startswith("mutant.toml: ")
        return
    if inst.key is None or not inst.item_numbers:
        return  # structure only: scoring asks for a key file (tested in test_registry)
    rng = np.random.default_rng(seed)
    lo, hi = inst.response.min, inst.response.max
    values = rng.integers(lo, hi + 1, size=(6, len(inst.item_numbers))).astype(float)
    values[rng.random(values.shape) < 0.1] = np.nan
    data = pd.DataFrame(values, columns=[default_column_name(inst, k) for k in inst.item_numbers])
    res = sciplab.score(data, inst, on_invalid="missing")
    assert list(res.scores.columns) == [inst.column(s.name) for s in inst.scales]
    for norm in inst.norms:
        normed = sciplab.score(data, inst, norm=norm.id)
        assert normed.scores.shape[0] == 6
    for frame in (res.scores, res.validity, res.flags, res.bands):
        assert frame.columns.is_unique


# Everything scoring cannot use is rejected at load (issue 11.6), each case named by its field.

BANDS = 'bands = [{ label = "low", min = 1, max = 2 }, { label = "high", min = 3, max = 5 }]'


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        (BANDS, BANDS.replace('"high"', '"low"'), ("field 'cutoffs[0].bands[1].label'", "'low' is used twice")),
        (BANDS, BANDS.replace("min = 3", "min = 2"), ("field 'cutoffs[0].bands'", "overlap")),
        ('id = "students"', 'id = "students"\n[norms.scales]\na = { mean = 1, sd = 1e-300 }\n[[norms]]\n', ()),
        (
            'name = "risk"',
            'name = "risk"\n[[flags]]\nname = "RISK"\nitems = [1]\nabove = 1\nmessage = "m"\nsource = "s"',
            (),
        ),
        ('name = "risk"', 'name = "risk flag"', ("field 'flags[0].name'",)),
        ("items = [4]", "items = []", ("field 'flags[0].items'", "at least one item")),
        ('name = "b"', 'name = "a_z"', ("field 'scales[1].name'", "collides with the _z column of scale 'a'")),
        ("n = 100", "n = 0", ("field 'norms[0].n'", "positive")),
        ('anchors = { 1 = "Never"', 'anchors = { "١" = "Never"', ("field 'response.anchors.١'",)),
        ("max = 5\n", "max = 5000000\n", ("field 'response.max'",)),
    ],
    ids=[
        "band-label-twice",
        "bands-overlap",
        "tiny-sd",
        "flag-twice",
        "flag-name",
        "flag-no-items",
        "norm-column-clash",
        "norm-n",
        "unicode-digit",
        "huge-response",
    ],
)
def test_what_scoring_cannot_use_is_rejected(tmp_path: Path, old: str, new: str, fragments: tuple[str, ...]) -> None:
    assert old in VALID
    reject(tmp_path, VALID.replace(old, new, 1), *fragments)


def test_two_norms_with_one_id_rejected(tmp_path: Path) -> None:
    second = VALID.split("[[norms]]")[1].split("[[cutoffs]]")[0]
    text = VALID.replace("[[cutoffs]]", "[[norms]]" + second.replace('"students"', '"Students"') + "[[cutoffs]]", 1)
    reject(tmp_path, text, "field 'norms[1].id'", "defined twice")


def test_duplicate_band_labels_used_to_break_scoring(tmp_path: Path) -> None:
    """The issue's reproduction: loading now fails; the valid file scores with its bands."""
    import pandas as pd

    import sciplab

    inst = load_definition(write(tmp_path, VALID))
    data = pd.DataFrame({"TST4_1": [1, 5], "TST4_2": [5, 1], "TST4_3": [1, 2], "TST4_4": [2, 2]})
    assert sciplab.score(data, inst).bands["TST-4_a_band"].tolist() == ["low", "high"]
