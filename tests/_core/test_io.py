"""read_data / write_data: round trips per format, SPSS labels, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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
