"""Write a corpus of hostile and odd data files into a folder, with what each must lead to.

``python tests/data/hostile/make_corpus.py DIR`` writes the files and ``DIR/manifest.json``;
tests/core/test_hostile_inputs.py calls :func:`make_corpus` into a temporary folder. Nothing of
it is committed but this script: the big cases (50 MB, a 1 GiB zip bomb) take about 3 s to make.

Each entry of the manifest:

- ``file``: the name in the folder; ``class``: the kind of trouble; ``what``: one line about it;
- ``expect``: ``"message"`` (a DataError whose text contains every word of ``says``, in any
  case) or ``"loaded"`` (then ``rows``, ``columns``, ``names``, ``values`` (column -> first
  values, NaN as None), ``load_notes`` (words the load's warnings must contain) and
  ``profile_warnings`` (words some column warning must contain) are checked where given);
- ``as_user``: ``"nobody"`` where the entry must be read without root's rights.
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import sys
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

MB = 1 << 20
_ENTRIES: list[dict] = []
_MAKERS: list[tuple[str, Callable[[Path], None]]] = []


def entry(file: str, klass: str, what: str, expect: str, **checks) -> Callable:
    """Register the maker of one corpus file with its expected outcome."""

    def register(make: Callable[[Path], None]) -> Callable[[Path], None]:
        _ENTRIES.append({"file": file, "class": klass, "what": what, "expect": expect, **checks})
        _MAKERS.append((file, make))
        return make

    return register


def _text(rows: list[str], end: str = "\n", encoding: str = "utf-8") -> bytes:
    return (end.join(rows) + end).encode(encoding)


def _table(n: int = 30, sep: str = ",") -> list[str]:
    lines = [sep.join(["part_id", "temp_c", "pressure_bar", "defect"])]
    lines += [sep.join([f"P{i:04d}", f"{60 + i % 7 * 0.5:.1f}", f"{5 + i % 3 / 10:.1f}", str(int(i % 9 == 0))])
              for i in range(n)]
    return lines


def _workbook(sheets: dict[str, list[list]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _table_rows(n: int = 30) -> list[list]:
    return [["part_id", "temp_c", "pressure_bar", "defect"]] + [
        [f"P{i:04d}", 60 + i % 7 * 0.5, 5 + i % 3 / 10, int(i % 9 == 0)] for i in range(n)
    ]


def _replace_members(data: bytes, changes: dict[str, bytes | Callable[[bytes], bytes]],
                     level: int = 6) -> bytes:
    """The zip ``data`` with some members' content replaced (a callable gets the old content)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                    compresslevel=level) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            change = changes.get(info.filename)
            if change is not None:
                content = change(content) if callable(change) else change
            dst.writestr(info.filename, content)
        for name, change in changes.items():  # parts the workbook lacks are added
            if name not in src.namelist():
                dst.writestr(name, change(b"") if callable(change) else change)
    return out.getvalue()


def _with_doctype(doctype: bytes, entity_use: bytes) -> Callable[[bytes], bytes]:
    """Insert a DOCTYPE after the XML declaration and an entity reference in the first <t>/<v>."""

    def change(xml: bytes) -> bytes:
        head, sep, rest = xml.partition(b"?>")
        if not sep:
            head, rest = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"', xml
        for tag in (b"<t>", b"<t ", b"<v>"):
            at = rest.find(tag)
            if at >= 0:
                close = rest.find(b">", at) + 1
                rest = rest[:close] + entity_use + rest[close:]
                break
        return head + b"?>" + doctype + rest

    return change


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


# ------------------------------------------------------------------ not a table at all

@entry("garbage.csv", "not a table", "64 KiB of random bytes named .csv", "message", says=["not a text"])
def _(p: Path) -> None:
    _write(p, random.Random(1).randbytes(64 << 10))


@entry("photo.csv", "not a table", "a PNG image renamed .csv", "message", says=["PNG image"])
def _(p: Path) -> None:
    _write(p, b"\x89PNG\r\n\x1a\n" + random.Random(2).randbytes(4000))


@entry("manual.csv", "not a table", "a PDF renamed .csv", "message", says=["PDF"])
def _(p: Path) -> None:
    _write(p, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 20)


@entry("archive.csv", "not a table", "a gzip archive renamed .csv", "message", says=["gzip", "unpack"])
def _(p: Path) -> None:
    import gzip

    _write(p, gzip.compress(_text(_table())))


@entry("photo.xlsx", "not a table", "a PNG image renamed .xlsx", "message", says=["not an Excel", "PNG"])
def _(p: Path) -> None:
    _write(p, b"\x89PNG\r\n\x1a\n" + random.Random(3).randbytes(4000))


@entry("manual.xls", "not a table", "a PDF renamed .xls", "message", says=["not an Excel", "PDF"])
def _(p: Path) -> None:
    _write(p, b"%PDF-1.7\n" + random.Random(4).randbytes(4000))


@entry("garbage.xlsx", "not a table", "random bytes named .xlsx", "message", says=["not an Excel"])
def _(p: Path) -> None:
    _write(p, random.Random(5).randbytes(20000))


@entry("zip_of_text.xlsx", "not a table", "a zip of a text file named .xlsx", "message",
       says=["not an Excel", "zip"])
def _(p: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "hello")
    _write(p, out.getvalue())


@entry("truncated.xlsx", "not a table", "a workbook cut off in the middle of the copy", "message",
       says=["damaged"])
def _(p: Path) -> None:
    data = _workbook({"Data": _table_rows(200)})
    _write(p, data[: len(data) // 2])


@entry("notes.docx", "not a table", "a Word document", "message", says=["not supported"])
def _(p: Path) -> None:
    _write(p, b"PK\x03\x04not really")


# ------------------------------------------------------------------ bombs

@entry("zip_bomb_1gib.xlsx", "bomb", "a 5 MB workbook whose sheet inflates to 1 GiB", "message",
       says=["inflate", "MiB"])
def _(p: Path) -> None:
    base = _workbook({"Data": _table_rows(5)})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                    compresslevel=1) as dst:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(info.filename, src.read(info.filename))
                continue
            xml = src.read(info.filename)
            cut = xml.rfind(b"</sheetData>")
            big = zipfile.ZipInfo(info.filename)
            big.compress_type = zipfile.ZIP_DEFLATED
            level = "compress_level" if "compress_level" in zipfile.ZipInfo.__slots__ else "_compresslevel"
            setattr(big, level, 1)  # the fastest level: 1 GiB in about 2 s
            with dst.open(big, "w", force_zip64=True) as member:
                member.write(xml[:cut])
                block = b"<row/>" * (MB // 6) + b" " * (MB % 6)
                for _ in range(1024):
                    member.write(block)
                member.write(xml[cut:])
    _write(p, out.getvalue())


@entry("zip_bomb_ratio.xlsx", "bomb", "shared strings inflating 500:1 to 64 MiB", "message",
       says=["inflate"])
def _(p: Path) -> None:
    base = _workbook({"Data": [["name"], ["a"], ["b"]]})
    strings = b'<?xml version="1.0"?>' + b" " * (64 * MB) + _SST
    _write(p, _replace_members(base, {"xl/sharedStrings.xml": strings}, level=9))


_LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                      for i in range(1, 10))
           + b"]>")
_SST = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2">'
        b"<si><t>a</t></si><si><t>b</t></si></sst>")
_XXE = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


@entry("billion_laughs.xlsx", "bomb", "nested entities in the sheet XML (billion laughs)", "message",
       says=["DOCTYPE"])
def _(p: Path) -> None:
    base = _workbook({"Data": [["name", "value"], ["a", 1], ["b", 2]]})
    _write(p, _replace_members(base, {"xl/worksheets/sheet1.xml": _with_doctype(_LAUGHS, b"&lol9;")}))


@entry("xxe_shared_strings.xlsx", "bomb", "an external entity (/etc/passwd) in the shared strings",
       "message", says=["DOCTYPE", "xl/sharedStrings.xml"])
def _(p: Path) -> None:
    base = _workbook({"Data": [["name", "value"], ["a", 1], ["b", 2]]})
    strings = b'<?xml version="1.0"?>' + _XXE + _SST.replace(b"<t>a", b"<t>&xxe;a")
    _write(p, _replace_members(base, {"xl/sharedStrings.xml": strings}))


@entry("xxe_sheet.xlsx", "bomb", "an external entity in the worksheet XML", "message", says=["DOCTYPE"])
def _(p: Path) -> None:
    base = _workbook({"Data": [["name", "value"], ["a", 1], ["b", 2]]})
    _write(p, _replace_members(base, {"xl/worksheets/sheet1.xml": _with_doctype(_XXE, b"&xxe;")}))


@entry("xxe_workbook.xlsx", "bomb", "an external entity in workbook.xml", "message", says=["DOCTYPE"])
def _(p: Path) -> None:
    base = _workbook({"Data": [["name", "value"], ["a", 1], ["b", 2]]})
    _write(p, _replace_members(base, {"xl/workbook.xml": _with_doctype(_XXE, b"")}))


# ------------------------------------------------------------------ sizes

@entry("field_50mb.csv", "size", "one 50 MB field on line 3", "message", says=["line 3", "MiB"])
def _(p: Path) -> None:
    with open(p, "wb") as f:
        f.write(b"part_id,note,value\nP1,short,1.5\nP2,\"")
        f.write(b"x" * (50 * MB))
        f.write(b"\",2.5\nP3,short,3.5\n")


@entry("line_50mb_no_newline.csv", "size", "50 MB of digits and commas, no line end", "message",
       says=["line 1", "MiB"])
def _(p: Path) -> None:
    _write(p, b"1234567,"* (50 * MB // 8))


@entry("columns_10000.csv", "size", "10,000 columns x 20 rows", "message", says=["10,000 columns"])
def _(p: Path) -> None:
    rows = [",".join(f"s{j}" for j in range(10_000))]
    rows += [",".join(str((i * j) % 97) for j in range(10_000)) for i in range(20)]
    _write(p, _text(rows))


@entry("columns_1000.csv", "size", "1,000 columns x 50 rows: wide but allowed", "loaded",
       rows=50, columns=1000)
def _(p: Path) -> None:
    rows = [",".join(f"s{j}" for j in range(1000))]
    rows += [",".join(f"{(i * j) % 97 + j / 7:.3f}" for j in range(1000)) for i in range(50)]
    _write(p, _text(rows))


@entry("cell_xfd1048576.xlsx", "size", "a table and one stray value in cell XFD1048576", "message",
       says=["XFD", "16,384"])
def _(p: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in _table_rows(10):
        sheet.append(row)
    sheet.cell(row=1_048_576, column=16_384, value=1)
    out = io.BytesIO()
    book.save(out)
    _write(p, out.getvalue())


# ------------------------------------------------------------------ encodings and bytes

@entry("nul_bytes_few.csv", "encoding", "three NUL bytes inside values", "message",
       says=["NUL", "lines 5, 12 and 20"])
def _(p: Path) -> None:
    lines = _table(40)
    for n in (5, 12, 20):  # line numbers, counted from 1
        lines[n - 1] = lines[n - 1].replace(",", ",\0", 1)
    _write(p, _text(lines))


@entry("nul_in_header.csv", "encoding", "NUL bytes in the header line", "message", says=["NUL", "line 1"])
def _(p: Path) -> None:
    lines = _table(40)
    lines[0] = "part\0_id,temp\0_c,pressure_bar,defect"
    _write(p, _text(lines))


@entry("nul_beyond_sample.csv", "encoding", "a NUL byte 2 MB into the file", "message", says=["NUL", "line"])
def _(p: Path) -> None:
    lines = _table(60_000)
    lines[50_000] = lines[50_000].replace(",", ",\0", 1)
    _write(p, _text(lines))


def _chinese_lines(n: int) -> list[str]:
    return ["时间,设备,状态,温度"] + [f"2026-03-02 06:{i % 60:02d}:00,设备{i % 4},{'正常' if i % 5 else '异常'},"
                                      f"{60 + i % 9 / 10:.1f}" for i in range(n)]


@entry("mixed_utf8_gb18030.csv", "encoding", "UTF-8 lines with some GB18030 lines among them", "message",
       says=["lines 8, 15 and 22", "UTF-8"])
def _(p: Path) -> None:
    lines = _chinese_lines(30)
    data = [(ln.encode("gb18030") if n in (8, 15, 22) else ln.encode("utf-8")) for n, ln in
            enumerate(lines, start=1)]
    _write(p, b"\n".join(data) + b"\n")


@entry("mixed_beyond_sample.csv", "encoding", "UTF-8 for 600 KB, then GB18030 lines", "message",
       says=["UTF-8", "line"])
def _(p: Path) -> None:
    lines = _chinese_lines(20_000)
    data = [(ln.encode("gb18030") if n in (15_000, 15_001) else ln.encode("utf-8"))
            for n, ln in enumerate(lines, start=1)]
    _write(p, b"\n".join(data) + b"\n")


@entry("gb18030_bad_bytes.csv", "encoding", "GB18030 with three invalid bytes", "message",
       says=["gb18030", "lines 6, 11 and 19"])
def _(p: Path) -> None:
    data = [ln.encode("gb18030") for ln in _chinese_lines(30)]
    for n in (6, 11, 19):
        data[n - 1] = data[n - 1].replace(b",", b",\xff", 1)
    _write(p, b"\r\n".join(data) + b"\r\n")


@entry("gb18030_clean.csv", "encoding", "a clean GB18030 export", "loaded", rows=30,
       names=["时间", "设备", "状态", "温度"], values={"状态": ["异常", "正常"]})
def _(p: Path) -> None:
    _write(p, _text(_chinese_lines(30), "\r\n", "gb18030"))


@entry("cp1252.csv", "encoding", "Windows Latin with accents", "loaded", rows=3,
       names=["Opération", "Température °C"], values={"Opération": ["Fraisage", "Contrôle", "Perçage"]})
def _(p: Path) -> None:
    _write(p, _text(["Opération,Température °C", "Fraisage,20.5", "Contrôle,21.5", "Perçage,22.5"], "\r\n",
                    "cp1252"))


@entry("utf16_no_bom.txt", "encoding", "UTF-16 little endian without BOM, tab-separated", "loaded", rows=30,
       columns=4)
def _(p: Path) -> None:
    _write(p, _text(_table(30, "\t"), "\r\n", "utf-16-le"))


@entry("utf8_bom.csv", "encoding", "UTF-8 with BOM", "loaded", rows=30, names=["part_id", "temp_c"])
def _(p: Path) -> None:
    _write(p, _text(_table(30), "\r\n", "utf-8-sig"))


# ------------------------------------------------------------------ numbers

@entry("mixed_marks.csv", "numbers", "one column with '1,234.5' and '42,8' (thousands vs decimal comma)",
       "message", says=["column 'weight'", "42,8", "line 5"])
def _(p: Path) -> None:
    rows = ["part;weight;count"]
    values = ["1,234.5", "980.25", "2,001.75", "42,8", "1,100.5", "17.25"]
    rows += [f"P{i};{v};{i}" for i, v in enumerate(values)]
    _write(p, _text(rows))


@entry("mixed_marks_beyond_sample.csv", "numbers", "'1,234.5' style for 50,000 lines, then a '42,8'",
       "message", says=["column 'weight'", "42,8", "line 50,002"])
def _(p: Path) -> None:
    rows = ["part;weight;count"] + [f"P{i};{1000 + i:,}.5;{i}" for i in range(60_000)]
    rows[50_001] = "P50000;42,8;50000"
    _write(p, _text(rows))


@entry("plain_then_grouped.csv", "numbers", "plain '980.25' in the sample, '1,234.5' and '42,8' later",
       "message", says=["column 'weight'", "42,8"])
def _(p: Path) -> None:
    rows = ["part;weight;total"] + [f"P{i};{980 + i % 7}.25;{1000 + i:,}" for i in range(60_000)]
    rows[50_001] = "P50000;1,234.5;51,000"
    rows[50_002] = "P50001;42,8;51,001"
    _write(p, _text(rows))


@entry("decimal_comma_dot_stray.csv", "numbers", "decimal commas with '.' thousands and a stray '3.5'",
       "message", says=["column 'weight'", "3.5"])
def _(p: Path) -> None:
    rows = ["part;weight;count"]
    values = ["1.234,5", "980,25", "2.001,75", "3.5", "1.100,5", "17,25"]
    rows += [f"P{i};{v};{i}" for i, v in enumerate(values)]
    _write(p, _text(rows))


@entry("eu_numbers.csv", "numbers", "'1.234,5' and '42,8' in one column, consistently European", "loaded",
       rows=4, values={"weight": [1234.5, 42.8, 2001.75, 17.0]})
def _(p: Path) -> None:
    _write(p, _text(["part;weight", "P1;1.234,5", "P2;42,8", "P3;2.001,75", "P4;17"]))


@entry("overflow_1e309.csv", "numbers", "a value 1e309 (beyond float64)", "loaded", rows=4,
       values={"value": [1.5, float("inf"), 2.5, 3.5]}, profile_warnings=["infinite"])
def _(p: Path) -> None:
    _write(p, _text(["part,value", "P1,1.5", "P2,1e309", "P3,2.5", "P4,3.5"]))


@entry("big_integers.csv", "numbers", "integers beyond int64 (serial numbers)", "loaded", rows=2,
       values={"serial": ["123456789012345678901234", "223456789012345678901234"]})
def _(p: Path) -> None:
    _write(p, _text(["serial,value", "123456789012345678901234,1", "223456789012345678901234,2"]))


@entry("missing_spellings.csv", "numbers", "missing values written as NA, -, #N/A, NULL", "loaded", rows=5,
       values={"value": [1.0, None, None, None, 5.0]})
def _(p: Path) -> None:
    _write(p, _text(["part,value", "P1,1", "P2,NA", "P3,-", "P4,#N/A", "P5,5"]))


# ------------------------------------------------------------------ line ends and shape

@entry("cr_only.csv", "shape", "old-Mac line ends (CR only)", "loaded", rows=30, columns=4,
       values={"temp_c": [60.0, 60.5]})
def _(p: Path) -> None:
    _write(p, _text(_table(30), "\r"))


@entry("cr_only_big.csv", "shape", "12 MB with CR-only line ends (several read ranges)", "loaded",
       rows=400_000, columns=4)
def _(p: Path) -> None:
    _write(p, _text(_table(400_000), "\r"))


@entry("mixed_line_ends.csv", "shape", "LF and CRLF line ends mixed", "loaded", rows=30)
def _(p: Path) -> None:
    lines = _table(30)
    _write(p, "".join(ln + ("\r\n" if i % 2 else "\n") for i, ln in enumerate(lines)).encode())


@entry("ragged_after_sample.csv", "shape", "a row with an extra field at line 40,002", "message",
       says=["line 40002", "5 fields"])
def _(p: Path) -> None:
    lines = _table(50_000)
    lines[40_001] += ",extra"
    _write(p, _text(lines))


@entry("ragged_in_sample.csv", "shape", "a short row at line 7", "message", says=["line 7"])
def _(p: Path) -> None:
    lines = _table(30)
    lines[6] = "P9999,61.5"
    _write(p, _text(lines))


@entry("being_written.csv", "shape", "copied while still being written: the last line stops mid-row",
       "message", says=["line 32", "2 fields", "still being written"])
def _(p: Path) -> None:
    _write(p, (_text(_table(30)) + b"P0030,61.5")[:-2])


@entry("no_final_newline.csv", "shape", "the last line has no line end", "loaded", rows=30)
def _(p: Path) -> None:
    _write(p, _text(_table(30))[:-1])


@entry("trailing_delimiters.csv", "shape", "'a;b;c;;;' rows (empty trailing columns)", "loaded", rows=30,
       columns=4)
def _(p: Path) -> None:
    _write(p, _text([ln + ";;;" for ln in _table(30, ";")]))


@entry("single_column.csv", "shape", "one column, no delimiter", "loaded", rows=5, columns=1)
def _(p: Path) -> None:
    _write(p, _text(["value", "1", "2", "3", "4", "5"]))


# ------------------------------------------------------------------ names

@entry("duplicate_names.csv", "names", "two columns named 'temp'", "message", says=["duplicate", "'temp'"])
def _(p: Path) -> None:
    _write(p, _text(["part,temp,temp", "P1,1,2", "P2,3,4"]))


@entry("blank_names.csv", "names", "blank column names", "loaded", rows=2, names=["part", "col_2", "col_3"])
def _(p: Path) -> None:
    _write(p, _text(["part,,", "P1,1,2", "P2,3,4"]))


@entry("odd_names.csv", "names", "names with quotes, semicolons and a line break", "loaded", rows=2,
       names=['say "hi"', "a;b", "two\nlines"])
def _(p: Path) -> None:
    _write(p, _text(['"say ""hi""","a;b","two\nlines"', "1,2,3", "4,5,6"]))


@entry("long_name.csv", "names", "a 5,000-character column name", "loaded", rows=2, columns=2)
def _(p: Path) -> None:
    _write(p, _text(["part," + "n" * 5000, "P1,1", "P2,2"]))


# ------------------------------------------------------------------ empty

@entry("empty.csv", "empty", "0 bytes", "message", says=["empty"])
def _(p: Path) -> None:
    _write(p, b"")


@entry("header_only.csv", "empty", "a header line and nothing else", "message", says=["no data rows"])
def _(p: Path) -> None:
    _write(p, b"part_id,temp_c,pressure_bar\n")


@entry("only_newlines.csv", "empty", "only line ends", "message", says=["blank lines"])
def _(p: Path) -> None:
    _write(p, b"\n" * 500)


@entry("only_whitespace.csv", "empty", "spaces, tabs and CR LF only", "message", says=["blank lines"])
def _(p: Path) -> None:
    _write(p, b"  \t \r\n   \r\n\t\r\n" * 50)


@entry("empty_workbook.xlsx", "empty", "a workbook whose only sheet is empty", "message", says=["empty"])
def _(p: Path) -> None:
    _write(p, _workbook({"Sheet1": []}))


@entry("header_only.xlsx", "empty", "a sheet with a header row only", "message", says=["no data rows"])
def _(p: Path) -> None:
    _write(p, _workbook({"Data": [["part_id", "temp_c"]]}))


# ------------------------------------------------------------------ the file system

@entry("unreadable.csv", "filesystem", "a file without read permission", "message", says=["permission"],
       as_user="nobody")
def _(p: Path) -> None:
    _write(p, _text(_table()))
    p.chmod(0)


@entry("dangling_link.csv", "filesystem", "a symbolic link to a file that was deleted", "message",
       says=["link", "does not exist"])
def _(p: Path) -> None:
    p.symlink_to(p.parent / "deleted_long_ago.csv")


@entry("folder.csv", "filesystem", "a folder named .csv", "message", says=["folder"])
def _(p: Path) -> None:
    p.mkdir()


@entry("pipe.csv", "filesystem", "a named pipe (reading it would wait forever)", "message",
       says=["not a regular file"])
def _(p: Path) -> None:
    os.mkfifo(p)


# ------------------------------------------------------------------ Excel oddities

@entry("formulas_no_cache.xlsx", "excel", "formulas saved without their results (not opened in Excel)",
       "loaded", rows=5, values={"a": [1, 2]}, load_notes=["formula", "total"])
def _(p: Path) -> None:
    rows = [["a", "b", "total"]] + [[i, i * 2, f"=A{i + 1}+B{i + 1}"] for i in range(1, 6)]
    _write(p, _workbook({"Data": rows}))


@entry("excel_errors.xlsx", "excel", "#DIV/0!, #N/A and #VALUE! cells", "loaded", rows=4,
       values={"ratio": [0.5, None, None, 0.25]})
def _(p: Path) -> None:
    _write(p, _workbook({"Data": [["part", "ratio"], ["P1", 0.5], ["P2", "#DIV/0!"], ["P3", "#N/A"],
                                  ["P4", 0.25]]}))


@entry("html_table.xls", "excel", "an HTML table saved as .xls, as MES exports do", "message",
       says=["HTML", "web page"])
def _(p: Path) -> None:
    rows = "".join(f"<tr><td>P{i}</td><td>{60 + i}</td></tr>" for i in range(10))
    _write(p, f"<html><head><meta charset='utf-8'></head><body><table><tr><th>part</th><th>temp</th></tr>"
              f"{rows}</table></body></html>".encode())


@entry("text_as.xls", "excel", "a tab-separated text file named .xls", "message", says=["text", "rename"])
def _(p: Path) -> None:
    _write(p, _text(_table(20, "\t")))


@entry("xlsx_named.xls", "excel", "an .xlsx workbook named .xls", "message", says=["rename", ".xlsx"])
def _(p: Path) -> None:
    _write(p, _workbook({"Data": _table_rows(5)}))


@entry("password.xlsx", "excel", "a password-protected (encrypted) workbook", "message", says=["password"])
def _(p: Path) -> None:
    _write(p, _encrypted_container())


@entry("password.xls", "excel", "an old-format workbook saved with a password (FILEPASS record)", "message",
       says=["password"])
def _(p: Path) -> None:
    data = bytearray((Path(__file__).resolve().parents[1] / "ingest" / "legacy.xls").read_bytes())
    # the record after the workbook's BOF becomes FILEPASS (0x2F): what Excel writes when encrypting
    at = data.find(bytes.fromhex("0908100000060500")) + 20
    data[at : at + 2] = b"\x2f\x00"
    _write(p, bytes(data))


@entry("duplicate_odd_names.csv", "names", "two columns with the same name holding a line break", "message",
       says=["duplicate"])
def _(p: Path) -> None:
    _write(p, _text(['"temp\nzone 1","temp\nzone 1"', "1,2", "3,4"]))


@entry("cover_page.xlsx", "excel", "a cover sheet before the data sheet", "message",
       says=["cover", "--sheet", "'Measurements'"])
def _(p: Path) -> None:
    cover = [["Quality report line 3"], [], ["Plant", "Augsburg"], ["Author", "J. Meier"],
             ["Date", "2026-03-02"]]
    _write(p, _workbook({"Cover": cover, "Measurements": _table_rows(20)}))


@entry("cover_page_chosen.xlsx", "excel", "cover sheet first, data on sheet 2 chosen by name", "loaded",
       rows=20, columns=4, sheet="Measurements")
def _(p: Path) -> None:
    cover = [["Quality report line 3"], [], ["Plant", "Augsburg"]]
    _write(p, _workbook({"Cover": cover, "Measurements": _table_rows(20)}))


def _encrypted_container() -> bytes:
    """An OLE compound file holding EncryptionInfo and EncryptedPackage streams: what Excel writes
    for a workbook saved with a password (the content here is random, as encrypted bytes look)."""
    sector = 512
    end, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    streams = [("EncryptionInfo", b"\x04\x00\x04\x00\x40\x00\x00\x00" + random.Random(6).randbytes(4088)),
               ("EncryptedPackage", struct.pack("<Q", 9000) + random.Random(7).randbytes(4088))]
    fat = [fat_sector, end]  # sector 0: the FAT; sector 1: the directory
    starts = []
    for _name, data in streams:
        count = len(data) // sector
        starts.append(len(fat))
        fat += [len(fat) + i + 1 for i in range(count - 1)] + [end]
    fat += [free] * (128 - len(fat))

    def dir_entry(name: str, kind: int, start: int, size: int, child: int = free, right: int = free) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0" if name else b""
        return (encoded.ljust(64, b"\0") + struct.pack("<HBBIII", len(encoded), kind, 1, free, right, child)
                + b"\0" * 36 + struct.pack("<IQ", start, size))

    directory = (dir_entry("Root Entry", 5, end, 0, child=1)
                 + dir_entry(streams[0][0], 2, starts[0], len(streams[0][1]), right=2)
                 + dir_entry(streams[1][0], 2, starts[1], len(streams[1][1]))
                 + dir_entry("", 0, 0, 0))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 0x1000, end, 0, end, 0)
              + struct.pack("<I", 0) + struct.pack("<I", free) * 108)
    body = struct.pack("<128I", *fat) + directory + b"".join(data for _n, data in streams)
    return header + body


def make_corpus(folder: str | Path, only: Iterable[str] | None = None) -> list[dict]:
    """Write the corpus files (all, or those named in ``only``) into ``folder`` (created if
    needed) and return their manifest entries."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wanted = None if only is None else set(only)
    entries = [dict(e) for e in _ENTRIES if wanted is None or e["file"] in wanted]
    for name, make in _MAKERS:
        if wanted is None or name in wanted:
            make(folder / name)
    (folder / "manifest.json").write_text(json.dumps(entries, indent=1, ensure_ascii=False), encoding="utf-8")
    return entries


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: make_corpus.py FOLDER")
    made = make_corpus(sys.argv[1])
    print(f"{len(made)} files written to {sys.argv[1]}")
