import os

import pandas as pd
import pytest

from sciplab._core.errors import DataError
from sciplab._core.files import (
    OutputExistsError,
    OutputIsInputError,
    atomic_write,
    check_output,
    load_structured,
    protect_inputs,
    read_side_text,
    safe_filename,
)
from sciplab._core.io import read_data, write_data


def test_existing_output_needs_overwrite(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("x\n1\n")
    with pytest.raises(OutputExistsError, match="already exists"):
        check_output(p)
    assert check_output(p, overwrite=True) == p


def test_output_never_an_input_even_through_a_hard_link(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("x\n1\n")
    link = tmp_path / "link.csv"
    os.link(src, link)
    with pytest.raises(OutputIsInputError, match="input"):
        check_output(link, overwrite=True, inputs=[src])
    with protect_inputs():
        read_data(src)
        with pytest.raises(OutputIsInputError):
            write_data(pd.DataFrame({"x": [2]}), link, overwrite=True)
    assert src.read_text() == "x\n1\n"
    # outside a protected command the library may replace a file it read when asked to
    write_data(pd.DataFrame({"x": [2]}), link, overwrite=True)


def test_failed_write_leaves_nothing_and_keeps_existing(tmp_path):
    p = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_write(p) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert not p.exists()
    assert list(tmp_path.iterdir()) == []
    p.write_text("keep")
    with pytest.raises(RuntimeError), atomic_write(p, overwrite=True) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert p.read_text() == "keep"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.txt"]


def test_sav_with_illegal_names_leaves_no_file(tmp_path):
    p = tmp_path / "o.sav"
    try:
        write_data(pd.DataFrame({"bad name-1": [1.0]}), p)
    except DataError:
        pass
    assert [x.name for x in tmp_path.iterdir()] in ([], ["o.sav"])
    if p.exists():
        assert p.stat().st_size > 0


def test_side_files(tmp_path):
    bad = tmp_path / "m.json"
    bad.write_bytes(b"\xff\xfe{}")
    with pytest.raises(DataError, match="not UTF-8"):
        read_side_text(bad, what="mapping file")
    deep = tmp_path / "d.json"
    deep.write_text("[" * 3000 + "]" * 3000)
    with pytest.raises(DataError, match="nested too deeply"):
        load_structured(deep, what="mapping file")
    toml = tmp_path / "g.toml"
    toml.write_text("a = [")
    with pytest.raises(DataError, match="not valid TOML"):
        load_structured(toml, what="grid")
    ok = tmp_path / "o.json"
    ok.write_text('{"a": 1}')
    assert load_structured(ok, what="x") == {"a": 1}


@pytest.mark.parametrize(("text", "expected"), [("a/b", "a_b"), ("../x", "x"), ("$\\foo{$", "foo"), ("", "_")])
def test_safe_filename(text, expected):
    assert safe_filename(text) == expected
