"""Ingest: every encoding, delimiter, decimal and header case, Excel, several files, bad input."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core import ingest
from mfg_desktop.core.errors import Cancelled, DataError
from mfg_desktop.core.ingest import (
    SUPPORTED_SUFFIXES,
    WHITESPACE,
    FileSettings,
    ReadOptions,
    detect_settings,
    load_files,
    preview,
)
from mfg_desktop.core.jobs import JobState

DATA = Path(__file__).resolve().parents[1] / "data"
FIX = DATA / "ingest"
BAD = FIX / "bad"


def load(path: Path, **options) -> tuple[pd.DataFrame, FileSettings]:
    loaded = load_files(path, ReadOptions(**options) if options else None)
    assert len(loaded.files) == 1
    return loaded.frame, loaded.files[0]


def is_str(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype)


def write(path: Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


# ------------------------------------------------------------------------------ real datasets


def test_ai4i2020_as_it_is():
    path = DATA / "ai4i2020.csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw[:400]  # the file really has BOM + CRLF
    frame, settings = load(path)
    assert frame.shape == (10000, 14)
    assert settings.encoding == "utf-8-sig" and settings.delimiter == "," and settings.header
    assert frame.columns[0] == "UDI"  # no BOM glued to the first name
    assert "Machine_failure" in frame.columns
    assert is_str(frame["Product ID"]) and frame["Product ID"].iloc[0] == "M14860"
    assert is_str(frame["Type"]) and set(frame["Type"].unique()) == {"L", "M", "H"}
    for column in ("UDI", "Rotational speed [rpm]", "Tool wear [min]", "Machine_failure", "TWF", "RNF"):
        assert frame[column].dtype == np.int64, column
    for column in ("Air temperature [K]", "Process temperature [K]", "Torque [Nm]"):
        assert frame[column].dtype == np.float64, column
    assert frame["Machine_failure"].sum() == 339
    assert not frame["Product ID"].str.endswith("\r").any()


def test_steel_plates():
    frame, settings = load(DATA / "SteelPlatesFaults_Clean.csv")
    assert frame.shape == (1941, 34)
    assert settings.encoding == "utf-8" and settings.header
    assert all(dtype in (np.int64, np.float64) for dtype in frame.dtypes)
    faults = frame.loc[:, "Pastry_Fault":"Other_Faults"]
    assert (faults.sum(axis=1) == 1).all()
    assert frame["Edges_Index"].dtype == np.float64


# ------------------------------------------------------------------------------ encodings


def test_gb18030_with_chinese_names_and_values():
    frame, settings = load(FIX / "gb18030_chinese.csv")
    assert settings.encoding == "gb18030"
    assert list(frame.columns) == ["时间", "设备编号", "班组", "温度(°C)", "压力(MPa)", "状态"]
    assert frame.shape == (40, 6)
    assert frame["设备编号"].iloc[0] == "设备A01"
    assert set(frame["状态"]) == {"正常", "异常", "停机"}
    assert pd.api.types.is_datetime64_any_dtype(frame["时间"])
    assert frame["温度(°C)"].dtype == np.float64 and frame["压力(MPa)"].iloc[1] == pytest.approx(0.81)


def test_gbk_text_detected_as_gb18030(tmp_path):
    path = write(tmp_path / "gbk.csv", "产品,数量\n螺丝,12\n螺母,7\n垫片,3\n", "gbk")
    frame, settings = load(path)
    assert settings.encoding == "gb18030"
    assert list(frame["产品"]) == ["螺丝", "螺母", "垫片"] and frame["数量"].dtype == np.int64


def test_utf16_with_bom():
    frame, settings = load(FIX / "utf16_bom.txt")
    assert settings.encoding == "utf-16" and settings.delimiter == "\t"
    assert list(frame.columns) == ["Station", "Messwert", "Einheit", "Bemerkung"]
    assert frame.shape == (20, 4) and frame["Messwert"].dtype == np.float64
    assert "Ausschuß" in set(frame["Bemerkung"])


def test_utf16_big_endian_with_bom(tmp_path):
    path = write(tmp_path / "be.csv", b"\xfe\xff" + "a;b\n1;x\n2;y\n".encode("utf-16-be"))
    frame, settings = load(path)
    assert settings.encoding == "utf-16" and list(frame["a"]) == [1, 2]


def test_cp1252_accents_and_degree_sign():
    frame, settings = load(FIX / "cp1252_accents.csv")
    assert settings.encoding == "cp1252"
    assert list(frame.columns) == ["Opération", "Température °C", "Débit l/min", "Qualité", "Contrôleur"]
    assert set(frame["Contrôleur"]) == {"Zoë", "Jürgen", "Renée"}
    assert "rejeté" in set(frame["Qualité"]) and frame["Température °C"].dtype == np.float64


def test_short_latin1_text_is_not_mistaken_for_chinese(tmp_path):
    # charset-normalizer alone calls this big5/Chinese
    path = write(tmp_path / "noel.csv", "a,b\nno\xebl,1\n", "latin-1")
    frame, settings = load(path)
    assert settings.encoding == "cp1252" and frame["a"].iloc[0] == "noël"


def test_encoding_override(tmp_path):
    path = FIX / "cp1252_accents.csv"
    frame, settings = load(path, encoding="latin-1")
    assert settings.encoding == "latin-1" and "Température °C" in frame.columns
    with pytest.raises(DataError) as caught:
        load(FIX / "gb18030_chinese.csv", encoding="utf-8")
    message = str(caught.value)
    assert "gb18030_chinese.csv" in message and "cannot be read as utf-8" in message
    assert "Choose another encoding" in message
    with pytest.raises(DataError, match="unknown encoding 'klingon'"):
        load(path, encoding="klingon")


def test_non_utf8_byte_after_the_sample_switches_to_cp1252(tmp_path, monkeypatch):
    # pure ASCII where detection looks (head and probe windows), one cp1252 byte elsewhere
    monkeypatch.setattr(ingest, "SAMPLE_BYTES", 4096)
    monkeypatch.setattr(ingest, "SAMPLE_MIN_LINES", 0)
    monkeypatch.setattr(ingest, "PROBE_BYTES", 64)
    lines = ["id,name,value"] + [f"{i},part{i},{i * 0.5}" for i in range(4000)]
    lines[1500] = "1499,Kühler,1.0"
    path = write(tmp_path / "late.csv", "\n".join(lines) + "\n", "cp1252")
    frame, settings = load(path)
    assert settings.encoding == "cp1252"
    assert frame.loc[1499, "name"] == "Kühler" and len(frame) == 4000
    # chosen by the user, the encoding stays: the message says where it broke
    message = _error(path, encoding="utf-8")
    assert "cannot be read as utf-8: line 1,501 holds bytes that are not valid utf-8" in message


# ------------------------------------------------------------------------------ delimiters, quotes, header


@pytest.mark.parametrize(
    ("delimiter", "suffix"), [(",", ".csv"), (";", ".csv"), ("\t", ".tsv"), ("|", ".txt")]
)
def test_each_delimiter(tmp_path, delimiter, suffix):
    rows = [["machine", "temp", "count"]] + [[f"M{i}", f"{20 + i / 4}", f"{i}"] for i in range(10)]
    path = write(tmp_path / f"d{suffix}", "\n".join(delimiter.join(r) for r in rows) + "\n")
    frame, settings = load(path)
    assert settings.delimiter == delimiter
    assert list(frame.columns) == ["machine", "temp", "count"]
    assert frame["temp"].dtype == np.float64 and frame["count"].dtype == np.int64
    assert frame["temp"].iloc[3] == pytest.approx(20.75)


def test_whitespace_separated_without_header():
    frame, settings = load(FIX / "whitespace_noheader.dat")
    assert settings.delimiter == WHITESPACE and settings.header is False
    assert list(frame.columns) == ["col_1", "col_2", "col_3", "col_4"]
    assert frame.shape == (25, 4)
    assert frame["col_1"].dtype == np.int64 and frame["col_2"].dtype == np.float64
    assert frame["col_2"].iloc[1] == pytest.approx(20.75) and frame["col_3"].iloc[0] == pytest.approx(-1.5)


def test_whitespace_with_header(tmp_path):
    path = write(tmp_path / "log.txt", "time   temp  state\n  1   20.5  run\n  2   21.0  stop\n")
    frame, settings = load(path)
    assert settings.delimiter == WHITESPACE and settings.header
    assert list(frame.columns) == ["time", "temp", "state"] and list(frame["state"]) == ["run", "stop"]


def test_quotes_pipe_crlf_and_line_break_inside_quotes():
    frame, settings = load(FIX / "quoted_pipe.txt")
    assert settings.delimiter == "|"
    assert list(frame["note"].iloc[:4]) == ["plain note", "contains | a pipe", 'says "hello"', "two\r\nlines"]
    assert pd.isna(frame["note"].iloc[4])
    assert list(frame["value"]) == [1.5, 2.5, 3.5, 4.5, 5.5]
    assert not frame["batch"].str.contains("\r").any()


def test_header_detection_and_override(tmp_path):
    path = write(tmp_path / "h.csv", "M01,20.5,3\nM02,21.5,4\n")
    frame, settings = load(path)
    assert settings.header is False and list(frame.columns) == ["col_1", "col_2", "col_3"]
    assert frame.shape == (2, 3)
    frame, settings = load(FIX / "day_2026-03-02.csv", header=False)
    assert settings.header is False and frame.shape == (13, 5)
    assert frame["col_1"].iloc[0] == "timestamp" and is_str(frame["col_3"])


def test_delimiter_override_and_aliases(tmp_path):
    path = write(tmp_path / "x.csv", "a;b,c\n1;2,5\n3;4,5\n")
    frame, settings = load(path, delimiter=",")
    assert list(frame.columns) == ["a;b", "c"]
    frame, settings = load(FIX / "utf16_bom.txt", delimiter="tab")
    assert settings.delimiter == "\t"
    with pytest.raises(DataError, match="unknown delimiter"):
        load(path, delimiter="::")


def test_blank_header_names_and_trailing_empty_columns(tmp_path):
    path = write(tmp_path / "x.csv", "a;;c;;\n1;2;3;;\n4;5;6;;\n")
    frame, _ = load(path)
    assert list(frame.columns) == ["a", "col_2", "c"]  # the empty trailing ';;' columns are dropped
    assert list(frame["col_2"]) == [2, 5]


# ------------------------------------------------------------------------------ numbers, ids, times


def test_decimal_comma_and_thousands_separators():
    frame, settings = load(FIX / "decimal_comma.csv")
    assert (settings.delimiter, settings.decimal, settings.thousands) == (";", ",", ".")
    assert frame["Menge"].dtype == np.int64 and list(frame["Menge"].iloc[:2]) == [980, 1017]
    assert frame["Gewicht kg"].dtype == np.float64 and frame["Gewicht kg"].iloc[1] == pytest.approx(1345.61)
    assert frame["Energie kWh"].iloc[1] == pytest.approx(13.01)
    assert is_str(frame["Prüfcode"]) and frame["Prüfcode"].iloc[1] == "001"
    assert pd.api.types.is_datetime64_any_dtype(frame["Zeitpunkt"])
    assert frame["Zeitpunkt"].iloc[1] == pd.Timestamp("2026-03-02 07:00")


@pytest.mark.parametrize(
    ("text", "decimal", "thousands", "expected"),
    [
        ("v;w\n1,5;x\n2,25;y\n", ",", None, [1.5, 2.25]),
        ('v,w\n"1,234.5",x\n"12.5",y\n', ".", ",", [1234.5, 12.5]),
        ("v;w\n1 234,5;x\n12,5;y\n", ",", " ", [1234.5, 12.5]),
        ("v;w\n1\u00a0234,5;x\n12,5;y\n", ",", " ", [1234.5, 12.5]),
        ("v;w\n1'234.5;x\n12.5;y\n", ".", "'", [1234.5, 12.5]),
        ("v\t w\n0,125\tx\n3,5\ty\n", ",", None, [0.125, 3.5]),
    ],
)
def test_decimal_and_thousands_variants(tmp_path, text, decimal, thousands, expected):
    frame, settings = load(write(tmp_path / "n.csv", text))
    assert (settings.decimal, settings.thousands) == (decimal, thousands)
    assert frame["v"].dtype == np.float64 and list(frame["v"]) == pytest.approx(expected)


def test_decimal_override(tmp_path):
    path = write(tmp_path / "n.csv", "v;w\n1,234;x\n2,500;y\n")
    assert detect_settings(path).decimal == ","  # ';' file: a lone comma is a decimal mark
    frame, _ = load(path, decimal=".", thousands=",")
    assert list(frame["v"]) == [1234, 2500]


def test_ids_stay_text_numbers_stay_numbers(tmp_path):
    text = "serial,code,lot,reading,count\n" + "".join(
        f"L{47181 + i},{i:03d},{1234567890123456789 + i},{i * 0.1:.1f},{i}\n" for i in range(20)
    )
    frame, _ = load(write(tmp_path / "ids.csv", text))
    assert is_str(frame["serial"]) and frame["serial"].iloc[0] == "L47181"
    assert is_str(frame["code"]) and frame["code"].iloc[7] == "007"
    assert is_str(frame["lot"])  # 19-digit barcodes are not numbers
    assert frame["reading"].dtype == np.float64 and frame["count"].dtype == np.int64


def test_missing_values(tmp_path):
    text = "a,b,c,d\n1,2.5,x,2026-03-02 06:00\n,NA,,\n3,-,#N/A,2026-03-02 07:00\n"
    frame, _ = load(write(tmp_path / "m.csv", text))
    assert frame["a"].dtype == np.float64 and np.isnan(frame["a"].iloc[1])  # ints with a gap
    assert frame["b"].dtype == np.float64 and frame["b"].isna().sum() == 2
    assert is_str(frame["c"]) and frame["c"].isna().sum() == 2
    assert pd.api.types.is_datetime64_any_dtype(frame["d"]) and frame["d"].isna().sum() == 1


@pytest.mark.parametrize(
    ("values", "first"),
    [
        (["2026-03-02 06:00:00", "2026-03-02 06:10:00"], "2026-03-02 06:00"),
        (["2026-03-02T06:00:00.250", "2026-03-02T06:10:00"], "2026-03-02 06:00:00.25"),
        (["2026-03-02", "2026-03-03"], "2026-03-02"),
        (["2026/03/02 06:00", "2026/03/02 07:30"], "2026-03-02 06:00"),
        (["02.03.2026 06:00:00", "13.03.2026 06:00:00"], "2026-03-02 06:00"),
        (["03/02/2026 06:00", "03/13/2026 06:00"], "2026-03-02 06:00"),
        (["13/03/2026", "02/03/2026"], "2026-03-13"),
    ],
)
def test_timestamps_become_datetime(tmp_path, values, first):
    text = "when,value\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values))
    frame, _ = load(write(tmp_path / "t.csv", text))
    assert pd.api.types.is_datetime64_any_dtype(frame["when"])
    assert frame["when"].iloc[0] == pd.Timestamp(first)


def test_timestamps_with_zone_are_utc(tmp_path):
    text = "when,value\n2026-03-02T06:00:00Z,1\n2026-03-02T07:00:00+01:00,2\n"
    frame, _ = load(write(tmp_path / "t.csv", text))
    assert str(frame["when"].dt.tz) == "UTC"
    assert frame["when"].iloc[1] == pd.Timestamp("2026-03-02 06:00", tz="UTC")


def test_types_widen_when_the_rest_of_the_file_disagrees(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "SAMPLE_BYTES", 2048)
    monkeypatch.setattr(ingest, "SAMPLE_MIN_LINES", 0)
    monkeypatch.setattr(ingest, "BLOCK_SIZE", 8192)
    lines = ["count,level,code,gram"] + [f"{i},{i},{i},{i}" for i in range(3000)]
    lines[2500] = "2499,2499.5,AB-7,1.234"  # float in an int column, text, thousands-like value
    lines[2600] = "2599,2599,2599,1.234.567"
    frame, _ = load(write(tmp_path / "w.csv", "\n".join(lines) + "\n"))
    assert frame["count"].dtype == np.int64
    assert frame["level"].dtype == np.float64 and frame["level"].iloc[2499] == 2499.5
    assert is_str(frame["code"]) and frame["code"].iloc[2499] == "AB-7" and frame["code"].iloc[0] == "0"
    assert is_str(frame["gram"])  # '1.234.567' is no number with '.' as decimal mark
    assert len(frame) == 3000


def _arrow_route(monkeypatch, path: Path) -> pd.DataFrame:
    """The same file converted the other way: parsed whole, then ``Table.to_pandas``."""
    with monkeypatch.context() as patched:
        patched.setattr(ingest._FrameBuilder, "available", False)
        return load_files(path).frame


@pytest.mark.parametrize("long_rows_first", [True, False])
def test_ranges_go_into_the_frame_as_arrow_would_convert_them(tmp_path, monkeypatch, long_rows_first):
    monkeypatch.setattr(ingest, "SAMPLE_BYTES", 2048)
    monkeypatch.setattr(ingest, "SAMPLE_MIN_LINES", 0)
    monkeypatch.setattr(ingest, "BLOCK_SIZE", 8192)
    sizes: list[int] = []
    resize = ingest._FrameBuilder._resize
    monkeypatch.setattr(ingest._FrameBuilder, "_resize", lambda self, n: (sizes.append(n), resize(self, n)))
    lines = ["when,zoned,count,level,empty,note"]
    for i in range(4000):
        # the first range's rows mislead the estimate of the row count: too few, or too many
        note = "x" * 300 if (i < 20) == long_rows_first else f"n{i}"
        lines.append(
            f"2026-03-02 06:{i // 60 % 60:02d}:{i % 60:02d},2026-03-02T06:00:00+01:00,{i},{i}.25,,{note}"
        )
    lines[3000] = "2026-03-02 06:00:00,,,,,"  # gaps only far beyond the sample, in every column
    frame = load_files(write(tmp_path / "r.csv", "\n".join(lines) + "\n")).frame
    if long_rows_first:
        assert len(sizes) >= 2 and sizes[0] < 4000, sizes  # started too small, grew
    else:
        assert sizes[0] > 5000 and sizes[-1] == 4000, sizes  # started too large, cut to size
    assert len(frame) == 4000 and frame["note"].iloc[0 if long_rows_first else 20] == "x" * 300
    assert frame["count"].dtype == np.float64 and np.isnan(
        frame["count"].iloc[2999]
    )  # an int column with a gap
    assert frame["level"].iloc[4] == 4.25 and np.isnan(frame["level"].iloc[2999])
    assert frame["empty"].isna().all() and pd.isna(frame["zoned"].iloc[2999])
    pd.testing.assert_frame_equal(frame, _arrow_route(monkeypatch, tmp_path / "r.csv"))
    frame.loc[0, "level"] = -1.0  # the blocks are the frame's own: writable, unshared
    frame.loc[1, "count"] = -1.0
    assert frame["level"].iloc[0] == -1.0 and frame["count"].iloc[1] == -1.0


@pytest.mark.parametrize(
    "name",
    [
        "decimal_comma.csv",
        "gb18030_chinese.csv",
        "utf16_bom.txt",
        "whitespace_noheader.dat",
        "quoted_pipe.txt",
    ],
)
def test_fixtures_load_the_same_either_way(name, monkeypatch):
    path = FIX / name
    pd.testing.assert_frame_equal(load_files(path).frame, _arrow_route(monkeypatch, path))


def test_thousands_separator_first_seen_beyond_the_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "SAMPLE_BYTES", 2048)
    monkeypatch.setattr(ingest, "SAMPLE_MIN_LINES", 0)
    monkeypatch.setattr(ingest, "BLOCK_SIZE", 8192)
    lines = ["Menge;Gewicht"] + [f"{i % 900};{i % 900},5" for i in range(3000)]
    lines[2800] = "1.234;1.234,5"
    frame, settings = load(write(tmp_path / "de.csv", "\n".join(lines) + "\n"))
    assert (settings.decimal, settings.thousands) == (",", ".")
    assert frame["Menge"].dtype == np.int64 and frame["Menge"].iloc[2799] == 1234
    assert frame["Gewicht"].dtype == np.float64 and frame["Gewicht"].iloc[2799] == 1234.5
    assert frame["Gewicht"].iloc[1] == 1.5


def test_line_break_in_quotes_beyond_the_sample(tmp_path, monkeypatch):
    # cut into byte ranges at line ends, the quoted line break looks like a short row at first
    monkeypatch.setattr(ingest, "SAMPLE_BYTES", 2048)
    monkeypatch.setattr(ingest, "SAMPLE_MIN_LINES", 0)
    monkeypatch.setattr(ingest, "BLOCK_SIZE", 4096)
    lines = ["id,note,value"] + [f"{i},plain,{i}.5" for i in range(2000)]
    lines[1200] = '1199,"first part\nsecond part",1199.5'
    frame, _ = load(write(tmp_path / "q.csv", "\n".join(lines) + "\n"))
    assert len(frame) == 2000 and frame.loc[1199, "note"] == "first part\nsecond part"
    assert frame["value"].dtype == np.float64


def test_sample_ending_inside_a_quoted_line_break(tmp_path, monkeypatch):
    rows = [f'{i},"note {i} starts\nand goes on",{i}.5' for i in range(300)]
    text = "id,note,value\n" + "\n".join(rows) + "\n"
    inside = text.index("starts\n", 2000) + len("starts\n")  # just after a line break in quotes
    monkeypatch.setattr(ingest, "SAMPLE_BYTES", inside + 3)
    monkeypatch.setattr(ingest, "SAMPLE_MIN_LINES", 0)
    frame, settings = load(write(tmp_path / "notes.csv", text))
    assert settings.delimiter == "," and settings.header
    assert len(frame) == 300 and frame.loc[299, "note"] == "note 299 starts\nand goes on"
    assert frame["value"].dtype == np.float64


# ------------------------------------------------------------------------------ Excel


def test_xlsx_default_sheet_is_first_with_data():
    frame, settings = load(FIX / "sheets.xlsx")
    assert settings.kind == "excel" and settings.sheet == "Line A"
    assert settings.sheets == ("Cover", "Line A", "Line B")
    assert settings.encoding is None and settings.delimiter is None
    assert list(frame.columns) == ["timestamp", "part_code", "width_mm", "passed"]
    assert frame.shape == (15, 4)
    assert pd.api.types.is_datetime64_any_dtype(frame["timestamp"])
    assert is_str(frame["part_code"]) and frame["part_code"].iloc[3] == "003"
    assert frame["width_mm"].dtype == np.float64


def test_xlsx_choose_sheet_by_name_or_index():
    by_name, settings = load(FIX / "sheets.xlsx", sheet="Line B")
    by_index, _ = load(FIX / "sheets.xlsx", sheet=2)
    by_digit, _ = load(FIX / "sheets.xlsx", sheet="2")
    assert settings.sheet == "Line B"
    for frame in (by_name, by_index, by_digit):
        assert list(frame.columns) == ["station", "count", "reading"] and frame.shape == (8, 3)
    assert by_name["count"].dtype == np.int64
    assert by_name["reading"].dtype == np.float64 and np.isnan(by_name["reading"].iloc[3])


def test_xlsx_preview_lists_sheets():
    shown = preview(FIX / "sheets.xlsx", nrows=5)
    assert shown.settings.sheets == ("Cover", "Line A", "Line B")
    assert shown.frame.shape == (5, 4) and shown.raw_lines[0].split("\t")[0] == "timestamp"


def test_xls_legacy_workbook():
    frame, settings = load(FIX / "legacy.xls")
    assert settings.sheet == "Messung" and settings.sheets == ("Messung", "Leer")
    assert frame.shape == (10, 4)
    assert pd.api.types.is_datetime64_any_dtype(frame["zeit"])
    assert frame["zeit"].iloc[1] == pd.Timestamp("2026-03-02 07:00")
    assert frame["anzahl"].dtype == np.int64 and frame["laenge_mm"].dtype == np.float64


@pytest.mark.parametrize(("path", "sheet"), [(FIX / "sheets.xlsx", "Cover"), (FIX / "legacy.xls", "Leer")])
def test_empty_sheet(path, sheet):
    with pytest.raises(DataError) as caught:
        load(path, sheet=sheet)
    message = str(caught.value)
    assert (
        path.name in message and f"sheet '{sheet}' is empty" in message and "Choose another sheet" in message
    )


def test_workbook_without_data_and_unknown_sheet(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.create_sheet("Second")
    book.save(tmp_path / "blank.xlsx")
    with pytest.raises(DataError, match="every sheet is empty"):
        load(tmp_path / "blank.xlsx")
    with pytest.raises(DataError, match="there is no sheet 'Line C'.*'Line A'"):
        load(FIX / "sheets.xlsx", sheet="Line C")
    with pytest.raises(DataError, match="no sheet number 7"):
        load(FIX / "sheets.xlsx", sheet=7)


def test_xlsx_duplicate_header(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["a", "b", "a"])
    book.active.append([1, 2, 3])
    book.save(tmp_path / "dup.xlsx")
    with pytest.raises(DataError, match=r"dup.xlsx.*duplicate column names: 'a' \(columns 1 and 3\)"):
        load(tmp_path / "dup.xlsx")


# ------------------------------------------------------------------------------ several files


def test_several_files_are_stacked_with_source_file():
    paths = [FIX / "day_2026-03-02.csv", FIX / "day_2026-03-03.csv"]
    loaded = load_files(paths)
    frame = loaded.frame
    assert frame.shape == (24, 6) and frame.columns[0] == "source_file"
    assert list(frame["source_file"].unique()) == ["day_2026-03-02.csv", "day_2026-03-03.csv"]
    assert (frame["source_file"] == "day_2026-03-03.csv").sum() == 12
    # one day has whole numbers only (int), the other decimals: the stack is float
    assert frame["temp_c"].dtype == np.float64 and frame["temp_c"].iloc[12] == 60.0
    assert pd.api.types.is_datetime64_any_dtype(frame["timestamp"])
    assert [f.path for f in loaded.files] == paths


def test_several_files_with_columns_in_another_order(tmp_path):
    write(tmp_path / "a.csv", "x,y\n1,2\n")
    write(tmp_path / "b.csv", "y,x\n3,4\n")
    frame = load_files([tmp_path / "a.csv", tmp_path / "b.csv"]).frame
    assert list(frame.columns) == ["source_file", "x", "y"] and list(frame["x"]) == [1, 4]


def test_several_files_with_different_columns(monkeypatch):
    def no_reading(*_args):
        raise AssertionError("the columns must be compared before any file is read in full")

    monkeypatch.setattr(ingest, "_read_text", no_reading)
    with pytest.raises(DataError) as caught:
        load_files([FIX / "day_2026-03-02.csv", FIX / "day_renamed.csv"])
    message = str(caught.value)
    assert "different columns" in message and "day_renamed.csv" in message
    assert "lacks 'temp_c'" in message and "'temperature_c'" in message and "'operator'" in message
    assert "day_2026-03-02.csv" in message


def test_csv_and_excel_files_stack(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["x", "y"])
    book.active.append([1.5, "b"])
    book.save(tmp_path / "one.xlsx")
    write(tmp_path / "two.csv", "x,y\n2,c\n")
    frame = load_files([tmp_path / "one.xlsx", tmp_path / "two.csv"]).frame
    assert list(frame["x"]) == [1.5, 2.0] and list(frame["y"]) == ["b", "c"]


# ------------------------------------------------------------------------------ preview and settings


def test_preview_matches_the_load():
    shown = preview(FIX / "decimal_comma.csv", nrows=10)
    assert shown.frame.shape == (10, 6)
    assert shown.raw_lines[0] == "Zeitpunkt;Linie;Menge;Gewicht kg;Energie kWh;Prüfcode"
    full, _ = load(FIX / "decimal_comma.csv")
    pd.testing.assert_frame_equal(shown.frame, full.head(10))
    assert shown.settings.decimal == ","


def test_preview_is_quick_on_a_big_file(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w") as handle:
        handle.write("a,b\n")
        handle.writelines(f"{i},{i * 0.5}\n" for i in range(300_000))
    shown = preview(path, nrows=50)
    assert shown.frame.shape == (50, 2) and len(shown.raw_lines) == ingest.RAW_LINES


def test_sample_grows_for_long_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "SAMPLE_BYTES", 8192)  # fewer than 100 of these wide rows
    header = ",".join(f"sensor_{i:03d}" for i in range(60))
    rows = [",".join(f"{(r * 60 + i) * 0.001:.3f}" for i in range(60)) for r in range(400)]
    path = write(tmp_path / "wide.csv", "\n".join([header, *rows]) + "\n")
    shown = preview(path, nrows=100)
    assert shown.frame.shape == (100, 60)


def test_settings_round_trip_through_options():
    for path in (FIX / "decimal_comma.csv", FIX / "gb18030_chinese.csv", FIX / "sheets.xlsx"):
        settings = detect_settings(path)
        again = detect_settings(path, settings.to_options())
        assert again == settings
        options = settings.to_options()
        assert options.thousands == (settings.thousands or "")
        frame_auto, _ = load(path)
        frame_given = load_files(path, options).frame
        pd.testing.assert_frame_equal(frame_auto, frame_given)


# ------------------------------------------------------------------------------ progress and cancel


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    """About 2.5 MB: many ranges once BLOCK_SIZE is made small."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40_000, 6)).round(4), columns=[f"s{i}" for i in range(6)])
    frame.insert(0, "id", [f"P{i:06d}" for i in range(len(frame))])
    frame.to_csv(path, index=False)
    return path


def test_progress_is_reported_during_one_file(big_file, monkeypatch):
    monkeypatch.setattr(ingest, "BLOCK_SIZE", 128 * 1024)
    path = big_file
    seen: list[float] = []
    loaded = load_files(path, state=JobState(on_progress=lambda fraction, _message: seen.append(fraction)))
    assert len(loaded.frame) == 40_000
    inside = [f for f in seen if 0.0 < f < 0.99]
    assert len(inside) >= 5, seen  # several blocks of one file
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_ranges_parse_alike_on_few_and_many_cores(big_file, monkeypatch):
    # on 1-2 cores each range is parsed on one thread, two at a time; with more, Arrow splits each
    monkeypatch.setattr(ingest, "BLOCK_SIZE", 128 * 1024)
    frames = []
    for cores in (2, 8):
        monkeypatch.setattr(ingest.pa, "cpu_count", lambda cores=cores: cores)
        frames.append(load_files(big_file).frame)
    assert len(frames[0]) == 40_000
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_cancel_stops_mid_file(big_file, monkeypatch):
    monkeypatch.setattr(ingest, "BLOCK_SIZE", 128 * 1024)
    path = big_file
    calls: list[float] = []

    def progress(fraction: float, _message: str) -> None:
        calls.append(fraction)
        if len(calls) == 3:
            state.request_cancel()

    state = JobState(on_progress=progress)
    with pytest.raises(Cancelled):
        load_files(path, state=state)
    assert 0.0 < max(calls) < 0.9  # stopped in the middle of the file, not after it


def test_cancel_before_the_next_file(tmp_path):
    state = JobState()
    state.request_cancel()
    with pytest.raises(Cancelled):
        load_files([FIX / "day_2026-03-02.csv"], state=state)


# ------------------------------------------------------------------------------ bad input


def _error(path: Path, **options) -> str:
    with pytest.raises(DataError) as caught:
        load_files(path, ReadOptions(**options) if options else None)
    message = str(caught.value)
    assert Path(path).name in message
    return message


def test_missing_file(tmp_path):
    message = _error(tmp_path / "nowhere.csv")
    assert "file not found" in message and str(tmp_path) in message and "File > Open" in message


def test_folder_instead_of_file(tmp_path):
    folder = tmp_path / "export.csv"
    folder.mkdir()
    assert "folder" in _error(folder)


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path / "locked.csv", "a\n1\n")
    real_open = open

    def deny(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(ingest, "open", deny, raising=False)
    message = _error(path)
    assert "permission denied" in message and "read access" in message


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_for_real(tmp_path):
    path = write(tmp_path / "locked.csv", "a\n1\n")
    path.chmod(0)
    assert "permission denied" in _error(path)


def test_empty_file():
    message = _error(BAD / "empty.csv")
    assert "empty (0 bytes)" in message and "Export the data again" in message


def test_blank_lines_only():
    assert "only blank lines" in _error(BAD / "blank_lines.csv")


def test_header_only_file():
    message = _error(BAD / "header_only.csv")
    assert "header line but no data rows" in message


def test_header_only_file_beyond_the_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "SAMPLE_BYTES", 64)
    monkeypatch.setattr(ingest, "SAMPLE_MIN_LINES", 0)
    path = write(tmp_path / "wide.csv", ",".join(f"column_{i}" for i in range(40)) + "\n")
    assert "header line but no data rows" in _error(path)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("image.csv", "PNG image"),
        ("workbook_renamed.csv", "rename the file to .xlsx"),
        ("nul_bytes.csv", "control characters"),
    ],
)
def test_binary_file_named_csv(name, words):
    message = _error(BAD / name)
    assert "not a text (CSV) file" in message and words in message


def test_ragged_rows_name_the_line():
    message = _error(BAD / "ragged.csv")
    assert "row 4" in message and "line 4 has 4 fields, but the first line has 3" in message
    assert "stray comma" in message


def test_ragged_row_with_too_few_fields_far_into_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "SAMPLE_BYTES", 4096)
    monkeypatch.setattr(ingest, "SAMPLE_MIN_LINES", 0)
    monkeypatch.setattr(ingest, "BLOCK_SIZE", 16384)
    lines = ["a;b;c"] + [f"{i};{i};x" for i in range(5000)]
    lines[3000] = "2999;2999"
    path = write(tmp_path / "late.csv", "\r\n".join(lines) + "\r\n")
    message = _error(path)
    assert "line 3001 has 2 fields, but the first line has 3" in message and "semicolon" in message


def test_ragged_whitespace_file(tmp_path):
    path = write(tmp_path / "w.dat", "1 2 3\n4 5 6\n7 8 9 10\n")
    assert "line 3 has 4 fields, but the first line has 3" in _error(path)


def test_duplicate_column_names():
    message = _error(BAD / "duplicate_columns.csv")
    assert "'id' (columns 1 and 5)" in message and "'temp' (columns 2 and 4)" in message
    assert "Rename the columns" in message


def test_not_a_workbook():
    message = _error(BAD / "not_a_workbook.xlsx")
    assert "not an Excel workbook" in message and "Rename it to .csv" in message


def test_unsupported_suffix():
    message = _error(BAD / "notes.docx")
    assert "'.docx' are not supported" in message and ".xlsx" in message
    assert all(suffix in message for suffix in SUPPORTED_SUFFIXES)


def test_no_file_given():
    with pytest.raises(DataError, match="No file"):
        load_files([])


def test_nothing_is_written(tmp_path):
    for source in (FIX / "decimal_comma.csv", FIX / "sheets.xlsx", BAD / "ragged.csv"):
        target = tmp_path / source.name
        target.write_bytes(source.read_bytes())
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.iterdir()}
    load_files(tmp_path / "decimal_comma.csv")
    load_files(tmp_path / "sheets.xlsx")
    preview(tmp_path / "sheets.xlsx")
    with pytest.raises(DataError):
        load_files(tmp_path / "ragged.csv")
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.iterdir()}
    assert after == before


# ------------------------------------------------------------------------------ fixtures


def test_fixtures_equal_their_script(tmp_path):
    spec = importlib.util.spec_from_file_location("make_fixtures", FIX / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if importlib.util.find_spec("xlwt") is None:  # only needed to write legacy.xls: compare the rest
        module._xls = lambda: (FIX / "legacy.xls").read_bytes()
    for name, data in module.fixtures().items():
        assert (FIX / name).read_bytes() == data, name
