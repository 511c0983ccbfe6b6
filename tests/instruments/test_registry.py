"""Look-up by id and alias, user folders, key files for structure-only instruments."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sciplab._core.errors import InstrumentDefinitionError, KeyNotVerifiedError
from sciplab.instruments import get_instrument, list_instruments
from sciplab.instruments.registry import ENV_VAR, require_key

USER = """\
id = "MY-SCALE"
name = "My scale"
citation = "Doe (2024)"
items = 3
aliases = ["MYS"]
scoring = "sum"
[response]
min = 0
max = 2
source = "Doe (2024)"
[licence]
item_text = false
statement = "own scale"
source = "Doe (2024)"
status = "verified"
[key]
status = "single-source"
reverse = []
sources = ["Doe (2024)"]
[[scales]]
name = "total"
label = "Total"
items = [1, 2, 3]
missing = { min_answered = 3, prorate = false, source = "none published" }
"""


def cats_key(n_items: int = 36, scale_b: str = "avoidant_fearful", iid: str = "CATS") -> str:
    items = list(range(1, n_items + 1))
    third = n_items // 3
    missing = 'missing = {{ min_answered = {k}, prorate = false, source = "user key" }}'
    scales = [
        ("secure", items[:third]),
        (scale_b, items[third : 2 * third]),
        ("preoccupied_merger", items[2 * third :]),
    ]
    body = "".join(
        f'[[scales]]\nname = "{name}"\nlabel = "{name}"\nitems = {its}\n{missing.format(k=len(its))}\n\n'
        for name, its in scales
    )
    return f"""\
id = "{iid}"
name = "Client Attachment to Therapist Scale (user key)"
citation = "Mallinckrodt, Gantt & Coble (1995), appendix"
items = {n_items}
scoring = "mean"
[response]
min = 1
max = 6
source = "1995 article"
[licence]
item_text = false
statement = "unknown"
source = "none"
status = "unverified"
[key]
status = "verified"
reverse = [1]
sources = ["Mallinckrodt, Gantt & Coble (1995), appendix"]

{body}"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("phq9", "PHQ-9"),
        ("PHQ-9", "PHQ-9"),
        ("Phq_9", "PHQ-9"),
        ("ecr-s", "ECR-S"),
        ("ECRS", "ECR-S"),
        ("ecr", "ECR"),
        ("ecr-r", "ECR-R"),
        ("ecr-r-interleaved", "ECR-R-interleaved"),
        ("tas20", "TAS-20"),
        ("gad7", "GAD-7"),
        ("k10", "K10"),
        ("k10-us", "K10-US"),
        ("core-om", "CORE-OM"),
        ("iip32", "IIP-32"),
    ],
)
def test_lookup_by_id_or_alias_case_insensitive(name: str, expected: str) -> None:
    assert get_instrument(name).id == expected


def test_unknown_id_with_suggestion() -> None:
    with pytest.raises(InstrumentDefinitionError) as exc:
        get_instrument("PHQ-8")
    msg = str(exc.value)
    assert "unknown instrument 'PHQ-8'" in msg and "did you mean" in msg and "'PHQ-9'" in msg
    assert ENV_VAR in msg and "--instruments-dir" in msg


def test_instruments_dir_adds_a_user_instrument(tmp_path: Path) -> None:
    (tmp_path / "MY-SCALE.toml").write_text(USER, encoding="utf-8")
    ids = [i.id for i in list_instruments(tmp_path)]
    assert ids[-1] == "MY-SCALE" and "PHQ-9" in ids
    assert get_instrument("mys", instruments_dir=tmp_path).id == "MY-SCALE"
    assert get_instrument("my_scale", instruments_dir=str(tmp_path)).status == "single-source"
    with pytest.raises(InstrumentDefinitionError, match="unknown instrument"):
        get_instrument("MY-SCALE")  # not without the folder


def test_env_var_adds_a_user_instrument(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "MY-SCALE.toml").write_text(USER, encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert get_instrument("my-scale").id == "MY-SCALE"
    assert "MY-SCALE" in [i.id for i in list_instruments()]


def test_missing_user_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InstrumentDefinitionError, match="instruments folder not found"):
        list_instruments(tmp_path / "absent")


def test_malformed_user_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "BAD.toml"
    bad.write_text(USER.replace("items = 3\n", ""), encoding="utf-8")
    with pytest.raises(InstrumentDefinitionError) as exc:
        get_instrument("PHQ-9", instruments_dir=tmp_path)
    assert str(bad) in str(exc.value) and "field 'items'" in str(exc.value)


def test_two_user_files_with_the_same_id(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(USER, encoding="utf-8")
    (tmp_path / "b.toml").write_text(USER.replace('aliases = ["MYS"]', ""), encoding="utf-8")
    with pytest.raises(InstrumentDefinitionError, match="already defined"):
        list_instruments(tmp_path)


def test_require_key_on_cats_explains_that_a_key_file_is_needed_and_why() -> None:
    cats = get_instrument("CATS")
    with pytest.raises(KeyNotVerifiedError) as exc:
        require_key(cats)
    msg = str(exc.value)
    assert "CATS" in msg and "without a scoring key" in msg
    assert "no verified" in msg and "never guesses" in msg  # why
    assert "--key FILE" in msg and "key_file" in msg  # what to do
    assert isinstance(exc.value, InstrumentDefinitionError)


@pytest.mark.parametrize("iid", ["TDS", "SEQ"])
def test_require_key_on_other_structure_only_instruments(iid: str) -> None:
    with pytest.raises(KeyNotVerifiedError, match="--key FILE"):
        require_key(get_instrument(iid))


def test_require_key_passes_keyed_instruments() -> None:
    ecr = get_instrument("ECR")
    assert require_key(ecr) is ecr


def test_cats_key_file_accepted_when_consistent(tmp_path: Path) -> None:
    key = tmp_path / "cats_key.toml"
    key.write_text(cats_key(), encoding="utf-8")
    keyed = require_key(get_instrument("cats", key_file=key))
    assert keyed.has_key and keyed.status == "verified"
    assert [s.name for s in keyed.scales] == ["secure", "avoidant_fearful", "preoccupied_merger"]
    assert keyed.key.reverse == (1,)


def test_key_file_with_wrong_item_count_rejected(tmp_path: Path) -> None:
    key = tmp_path / "cats_key.toml"
    key.write_text(cats_key(n_items=30), encoding="utf-8")
    with pytest.raises(InstrumentDefinitionError) as exc:
        get_instrument("CATS", key_file=key)
    msg = str(exc.value)
    assert str(key) in msg and "field 'items'" in msg and "30 items" in msg and "36" in msg


def test_key_file_with_unknown_scale_rejected(tmp_path: Path) -> None:
    key = tmp_path / "cats_key.toml"
    key.write_text(cats_key(scale_b="avoidant"), encoding="utf-8")
    with pytest.raises(InstrumentDefinitionError, match="'avoidant' is not a scale of CATS"):
        get_instrument("CATS", key_file=key)


def test_key_file_for_another_instrument_rejected(tmp_path: Path) -> None:
    key = tmp_path / "other.toml"
    key.write_text(cats_key(iid="CATZ"), encoding="utf-8")
    with pytest.raises(InstrumentDefinitionError, match="key file is for 'CATZ', not 'CATS'"):
        get_instrument("CATS", key_file=key)


def test_key_file_without_key_table_rejected(tmp_path: Path) -> None:
    text = cats_key().split("[key]")[0] + '[[scales]]\nname = "secure"\nlabel = "Secure"\n'
    key = tmp_path / "nokey.toml"
    key.write_text(text, encoding="utf-8")
    with pytest.raises(InstrumentDefinitionError, match="no \\[key\\] table"):
        get_instrument("CATS", key_file=key)


def test_tds_key_file_defines_the_unverified_item_count(tmp_path: Path) -> None:
    """TDS ships items = 0 (count unverified): any consistent key file supplies the count."""
    names = ["too_close", "too_distant", "growing_autonomy", "growing_engagement"]
    scales = "".join(
        f'[[scales]]\nname = "{n}"\nlabel = "{n}"\nitems = [{2 * k + 1}, {2 * k + 2}]\n'
        'missing = { min_answered = 2, prorate = false, source = "user key" }\n\n'
        for k, n in enumerate(names)
    )
    text = cats_key().split("[[scales]]")[0].replace('id = "CATS"', 'id = "TDS"').replace("items = 36", "items = 8")
    key = tmp_path / "tds_key.toml"
    key.write_text(text + scales, encoding="utf-8")
    keyed = get_instrument("TDS", key_file=key)
    assert keyed.n_items == 8 and keyed.has_key


def test_cats_key_file_in_user_folder_points_to_key_option(tmp_path: Path) -> None:
    (tmp_path / "CATS.toml").write_text(cats_key(), encoding="utf-8")
    with pytest.raises(InstrumentDefinitionError, match="--key FILE"):
        list_instruments(tmp_path)


# ----------------------------------------------------------------------------------------------
# Side files (issue 11.5, 11.9) and the folder cache (12.10)


def test_user_folder_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    afile = tmp_path / "defs.toml"
    afile.write_text(USER, encoding="utf-8")
    with pytest.raises(InstrumentDefinitionError, match="is a file, not an instruments folder"):
        list_instruments(afile)


def test_unreadable_user_folder_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    real = os.scandir

    def denied(path):  # root ignores chmod, so refuse the way the OS would
        if Path(path) == tmp_path:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", denied)
    with pytest.raises(InstrumentDefinitionError, match=r"cannot read the instruments folder \(Permission denied\)"):
        list_instruments(tmp_path)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(InstrumentDefinitionError, match="Permission denied"):
        get_instrument("PHQ-9")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (USER.encode("cp1252").replace(b"Doe", b"D\xf6e"), r"is not UTF-8 text \(byte 0xf6 at line 3\)"),
        (b'id = "X"\x00\x00binary', "contains NUL bytes"),
        (("a = " + "[" * 3000 + "]" * 3000 + "\n").encode(), "nested too deeply"),
        (b"id = ", "is not valid TOML"),
    ],
    ids=["cp1252", "binary", "deep", "syntax"],
)
def test_bad_definition_and_key_files_name_the_file(tmp_path: Path, content: bytes, expected: str) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "MY.toml").write_bytes(content)
    with pytest.raises(InstrumentDefinitionError, match=expected) as exc:
        list_instruments(folder)
    assert str(folder / "MY.toml") in str(exc.value) and "instrument definition" in str(exc.value)
    key = tmp_path / "key.toml"
    key.write_bytes(content)
    with pytest.raises(InstrumentDefinitionError, match=expected) as exc:
        get_instrument("CATS", key_file=key)
    assert str(key) in str(exc.value) and "key file" in str(exc.value)


def test_huge_key_file_is_refused_before_reading(tmp_path: Path) -> None:
    key = tmp_path / "huge.toml"
    with key.open("wb") as f:
        f.truncate(50_000_000)  # sparse: no disk used
    with pytest.raises(InstrumentDefinitionError, match=r"key file is 50,000,000 bytes; at most"):
        get_instrument("CATS", key_file=key)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_property_any_bytes_as_a_definition_load_or_raise_cleanly(tmp_path_factory, content: bytes) -> None:
    folder = tmp_path_factory.mktemp("defs")
    (folder / "X.toml").write_bytes(content)
    try:
        list_instruments(folder)
    except InstrumentDefinitionError as exc:
        assert str(folder / "X.toml") in str(exc)


def test_user_folder_is_read_once_until_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from sciplab.instruments import registry

    (tmp_path / "MY-SCALE.toml").write_text(USER, encoding="utf-8")
    reads: list[Path] = []
    real = registry.load_definition

    def counting(path, **kw):
        reads.append(Path(path))
        return real(path, **kw)

    monkeypatch.setattr(registry, "load_definition", counting)
    for _ in range(3):
        assert get_instrument("MY-SCALE", instruments_dir=tmp_path).name == "My scale"
    assert len(reads) == 1
    # a modified file is re-read (mtime and size are part of the signature)
    path = tmp_path / "MY-SCALE.toml"
    path.write_text(USER.replace('name = "My scale"', 'name = "My new scale"'), encoding="utf-8")
    st_ = path.stat()
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 10_000_000))
    assert get_instrument("MY-SCALE", instruments_dir=tmp_path).name == "My new scale"
    # and so is an added file
    (tmp_path / "B.toml").write_text(USER.replace("MY-SCALE", "OTHER").replace('"MYS"', '"OTH"'), encoding="utf-8")
    assert get_instrument("OTHER", instruments_dir=tmp_path).id == "OTHER"
    assert len(reads) == 4


def test_octant_scores_resolves_a_user_instrument_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    from sciplab.instruments import registry
    from sciplab.scoring.octants import octant_scores

    (tmp_path / "MY-SCALE.toml").write_text(USER, encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    reads: list[Path] = []
    real = registry.load_definition
    monkeypatch.setattr(registry, "load_definition", lambda p, **kw: reads.append(Path(p)) or real(p, **kw))
    data = pd.DataFrame([[2] * 32], columns=[f"IIP{i:02d}" for i in range(1, 33)])
    octant_scores(data, "IIP-SC")
    octant_scores(data, "IIP-SC")
    assert reads.count(tmp_path / "MY-SCALE.toml") <= 1
