"""The helpers every source shares (``tiplens.sources._base``): truncation and encoding errors of
``read_csv_text``, on small files written here."""

from __future__ import annotations

import pytest

from tiplens.errors import InputFileError
from tiplens.sources._base import read_csv_text


def _write(tmp_path, data: bytes, name: str = "table.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_bad_byte_is_reported_on_its_own_row(tmp_path):
    # pandas' UnicodeDecodeError does not say where in the file the byte is: the row must still be right
    path = _write(tmp_path, b"a,b\n1,2\n\xe9,3\n4,5\n")
    with pytest.raises(InputFileError, match="not valid utf-8") as err:
        read_csv_text(path)
    assert err.value.row == 3 and str(path) in str(err.value)


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n\r\n  \n"])
def test_short_last_row_is_truncation(tmp_path, ending):
    path = _write(tmp_path, b"a,b,c\n1,2,3\n4,5" + ending)
    with pytest.raises(InputFileError, match="truncated") as err:
        read_csv_text(path)
    assert err.value.row == 3 and "row 3 has only 2 of the header's 3 cells" in str(err.value)
    assert str(path) in str(err.value)


def test_full_last_row_with_empty_cells_is_not_truncation(tmp_path):
    path = _write(tmp_path, b"a,b,c\n1,2,3\n4,,\n")
    assert read_csv_text(path).values.tolist() == [["1", "2", "3"], ["4", "", ""]]


def test_quoted_line_breaks_in_the_last_row(tmp_path):
    whole = _write(tmp_path, b'a,b,c\n1,2,3\n4,"five\r\nlines\nlong",\n', "whole.csv")
    assert read_csv_text(whole).iloc[-1].tolist() == ["4", "five\r\nlines\nlong", ""]
    cut = _write(tmp_path, b'a,b,c\n1,2,3\n4,"five\nlines"', "cut.csv")
    with pytest.raises(InputFileError, match="row 3 has only 2 of the header's 3 cells"):
        read_csv_text(cut)


def test_row_number_counts_the_preamble(tmp_path):
    path = _write(tmp_path, b"title\ndate\na,b,c\n1,2,3\n4,5")
    with pytest.raises(InputFileError, match="truncated") as err:
        read_csv_text(path, skiprows=2)
    assert err.value.row == 5


def test_every_row_finds_a_short_row_inside_the_file(tmp_path):
    path = _write(tmp_path, b"a,b,c\n1,2,3\n4,5\n6,7,8\n")
    assert len(read_csv_text(path)) == 3  # only the last row is checked by default
    with pytest.raises(InputFileError, match="truncated") as err:
        read_csv_text(path, every_row=True)
    assert err.value.row == 3
