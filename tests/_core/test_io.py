"""read_data / write_data: round trips per format, SPSS labels, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sciplab import DataError, read_data, write_data


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "PHQ9_1": [0.0, 3.0, np.nan],
            "PHQ9_2": [1.0, 2.0, 3.0],
            "age": [31.5, 40.0, 22.25],
        }
    )


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".xlsx", ".parquet", ".sav"])
def test_round_trip(tmp_path: Path, ext: str) -> None:
    df = frame()
    path = write_data(df, tmp_path / f"data{ext}")
    assert path == tmp_path / f"data{ext}" and path.exists()
    back = read_data(path)
    assert back.attrs["source"] == str(path)
    assert list(back.columns) == list(df.columns)
    assert back["id"].astype(str).tolist() == ["a", "b", "c"]
    for col in ("PHQ9_1", "PHQ9_2", "age"):
        np.testing.assert_allclose(back[col].to_numpy(dtype=float), df[col].to_numpy(dtype=float))
    assert np.isnan(back.loc[2, "PHQ9_1"])  # a missing cell stays missing (never 0)


def test_txt_is_tab_separated_and_index_option(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("a\tb\n1\t\n")
    df = read_data(tmp_path / "d.txt")
    assert df.columns.tolist() == ["a", "b"] and np.isnan(df.loc[0, "b"])
    named = pd.DataFrame({"x": [1, 2]}, index=pd.Index(["p", "q"], name="client"))
    back = read_data(write_data(named, tmp_path / "i.csv", index=True))
    assert back.columns.tolist() == ["client", "x"]


def test_spss_value_labels_kept_and_written_back(tmp_path: Path) -> None:
    df = pd.DataFrame({"PHQ9_1": [0.0, 1.0, 3.0], "sex": [1.0, 2.0, 1.0]})
    df.attrs["value_labels"] = {"PHQ9_1": {0.0: "Not at all", 3.0: "Nearly every day"}, "sex": {1.0: "f", 2.0: "m"}}
    df.attrs["column_labels"] = {"PHQ9_1": "Little interest or pleasure", "sex": "Sex"}
    first = write_data(df, tmp_path / "a.sav")
    back = read_data(first)
    assert back.attrs["value_labels"] == {
        "PHQ9_1": {0.0: "Not at all", 3.0: "Nearly every day"},
        "sex": {1.0: "f", 2.0: "m"},
    }
    assert back.attrs["column_labels"] == {"PHQ9_1": "Little interest or pleasure", "sex": "Sex"}
    assert back["sex"].tolist() == [1.0, 2.0, 1.0]  # codes kept as numbers
    # labels survive a second write/read (attrs carried through)
    again = read_data(write_data(back, tmp_path / "b.sav"))
    assert again.attrs["value_labels"] == back.attrs["value_labels"]
    assert again.attrs["column_labels"] == back.attrs["column_labels"]


def test_sheet_selection(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame({"a": [1]}).to_excel(xl, sheet_name="first", index=False)
        pd.DataFrame({"b": [2]}).to_excel(xl, sheet_name="second", index=False)
    assert read_data(path, sheet="second").columns.tolist() == ["b"]
    assert read_data(path, sheet=1).columns.tolist() == ["b"]
    with pytest.raises(DataError, match=r"two\.xlsx: cannot read"):
        read_data(path, sheet="third")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match=r"e\.csv: the file is empty \(0 bytes\)"):
        read_data(tmp_path / "e.csv")
    (tmp_path / "blank.csv").write_text("\n\n")
    with pytest.raises(DataError, match=r"blank\.csv: no columns to read"):
        read_data(tmp_path / "blank.csv")


def test_unknown_extension(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text("{}")
    with pytest.raises(DataError, match=r"d\.json: cannot read files of type \.json; supported: .csv"):
        read_data(tmp_path / "d.json")
    with pytest.raises(DataError, match=r"cannot read files of type \(no extension\)"):
        read_data(tmp_path / "noext")
    with pytest.raises(DataError, match=r"cannot write files of type \.xls; supported"):
        write_data(frame(), tmp_path / "out.xls")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        read_data(tmp_path / "nope.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(DataError, match="is a folder"):
        read_data(tmp_path / "dir.csv")
    with pytest.raises(DataError, match="does not exist"):
        write_data(frame(), tmp_path / "missing" / "x.csv")


@pytest.mark.parametrize("ext", [".parquet", ".xlsx", ".sav"])
def test_corrupt_binary_file(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"bad{ext}"
    path.write_bytes(b"this is not a binary data file at all\x00\x01")
    with pytest.raises(DataError, match=rf"bad\{ext}: cannot read"):
        read_data(path)


def test_unparseable_csv(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text('a,b\n1,2\n3,4,5,6\n"unterminated\n')
    with pytest.raises(DataError, match=r"ragged\.csv: cannot (parse|read)"):
        read_data(path)


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    path = write_data(frame(), tmp_path / "x.csv")
    with pytest.raises(DataError, match=r"x\.csv: already exists; choose another name or pass overwrite=True"):
        write_data(frame(), path)
    write_data(frame().iloc[:1], path, overwrite=True)
    assert len(read_data(path)) == 1


# --- duplicated headers, non-path arguments, SPSS names --------------------------------------------


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".xlsx"])
def test_duplicated_headers_are_refused_with_their_names(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"dup{ext}"
    cols = ["ECRS_01", "ECRS_02", "ECRS_01", "PHQ9_01", "PHQ9_01"]
    rows = [[1, 2, 3, 0, 1]]
    if ext == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        wb.active.append(cols)
        wb.active.append(rows[0])
        wb.save(path)
    else:
        sep = "," if ext == ".csv" else "\t"
        path.write_text(sep.join(cols) + "\n" + sep.join(map(str, rows[0])) + "\n")
    expected = r"duplicated column name.*'ECRS_01' \(columns 1, 3\).*'PHQ9_01' \(columns 4, 5\)"
    with pytest.raises(DataError, match=expected):
        read_data(path)


def test_duplicated_parquet_columns_are_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "dup.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["x", "x"]), path)
    with pytest.raises(DataError, match="'x' \\(columns 1, 2\\)"):
        read_data(path)


@pytest.mark.parametrize("bad", [123, None, 1.5, ["a.csv"]])
def test_read_data_needs_a_path(bad: object) -> None:
    with pytest.raises(DataError, match="needs a file path"):
        read_data(bad)  # type: ignore[arg-type]


def test_spss_gets_valid_names_with_originals_as_labels_and_back(tmp_path: Path) -> None:
    import pyreadstat

    df = pd.DataFrame({"IIP-SC_PA": [1.0, 2.0], "id": [1.0, 2.0], "1st item": [3.0, 4.0]})
    path = write_data(df, tmp_path / "iip.sav")
    _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    assert meta.column_names == ["IIP_SC_PA", "id", "v1st_item"]
    assert meta.column_labels[0] == "IIP-SC_PA" and meta.column_labels[2] == "1st item"
    back = read_data(path)
    assert list(back.columns) == ["IIP-SC_PA", "id", "1st item"]
    np.testing.assert_allclose(back["IIP-SC_PA"], [1.0, 2.0])


_SPSS_OK = __import__("re").compile(r"^[A-Za-z][A-Za-z0-9_.@#$]*$")


@given(st.lists(st.text(min_size=0, max_size=80), min_size=1, max_size=8))
def test_spss_names_are_valid_and_unique(columns: list[str]) -> None:
    from sciplab._core.io import spss_names

    names = spss_names(columns)
    assert len(names) == len(columns)
    assert len({n.upper() for n in names}) == len(names)
    for old, new in zip(columns, names, strict=True):
        assert _SPSS_OK.match(new) and not new.endswith(".") and len(new.encode()) <= 64
        if _SPSS_OK.match(old) and len(old) <= 64 and not old.endswith(".") and old.upper() not in (
            "ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"
        ) and [c.upper() for c in columns].count(old.upper()) == 1:  # fmt: skip
            assert new == old


def test_sav_round_trip_with_many_renamed_columns(tmp_path):
    # 32 renamed columns: the name map spans many 80-byte .sav notes (one long note was refused by readstat)
    cols = [f"IIP-SC_item-{i:02d}" for i in range(1, 33)]
    df = pd.DataFrame(np.arange(64, dtype=float).reshape(2, 32), columns=cols)
    write_data(df, tmp_path / "x.sav")
    back = read_data(tmp_path / "x.sav")
    assert list(back.columns) == cols


def test_write_all_writes_every_file_or_none(tmp_path):
    from sciplab._core.io import write_all

    df = pd.DataFrame({"a": [1.0]})
    with pytest.raises(DataError, match="cannot write files of type"):
        write_all([(df, tmp_path / "ok.csv"), (df, tmp_path / "bad.xyz")])
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DataError):
        # the second writer fails after the first file was written to its temporary name
        mixed = pd.DataFrame({"mixed": [1, "a"]}, dtype=object)
        write_all([(df, tmp_path / "ok.csv"), (mixed, tmp_path / "v.parquet")])
    assert list(tmp_path.iterdir()) == []
    write_all([(df, tmp_path / "ok.csv"), (df, tmp_path / "v.parquet")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.csv", "v.parquet"]
