"""Write the small ingest fixtures next to this script, byte for byte the same on every run.

Run ``python tests/data/ingest/make_fixtures.py``; tests/core/test_ingest.py checks that the
committed files equal this script's output. Each file is one kind of factory export:

- ``gb18030_chinese.csv``: a Chinese Excel export (GB18030, Chinese column names and values)
- ``decimal_comma.csv``: ';'-separated, decimal commas, '.' thousands, day-first timestamps
- ``whitespace_noheader.dat``: an instrument log, columns aligned with spaces, no header
- ``utf16_bom.txt``: tab-separated UTF-16 with BOM (what Excel's "Unicode text" writes)
- ``cp1252_accents.csv``: Windows Latin (é, °, ü) in names and values
- ``quoted_pipe.txt``: '|'-separated with quotes, doubled quotes, a line break in a value, CRLF
- ``sheets.xlsx``: an empty first sheet, then two sheets of data; ``legacy.xls``: the old format
- ``day_2026-03-02.csv``, ``day_2026-03-03.csv``: one file per day; ``day_renamed.csv`` has a
  renamed and an added column
- ``bad/``: files every reader must refuse with a clear message

``legacy.xls`` needs the ``xlwt`` package (only to write it; reading uses xlrd).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2026, 3, 2, 6, 0, 0)


def _gb18030() -> bytes:
    lines = ["时间,设备编号,班组,温度(°C),压力(MPa),状态"]
    states = ("正常", "正常", "正常", "异常", "停机")
    for i in range(40):
        stamp = (FIXED_TIME + dt.timedelta(minutes=10 * i)).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(
            f"{stamp},设备A{i % 4 + 1:02d},{'早班' if i < 20 else '夜班'},"
            f"{60 + (i * 7) % 13 / 10:.1f},{0.8 + (i % 5) / 100:.2f},{states[i % 5]}"
        )
    return ("\r\n".join(lines) + "\r\n").encode("gb18030")


def _decimal_comma() -> bytes:
    german = str.maketrans({",": ".", ".": ","})  # '1,234.56' -> '1.234,56'
    lines = ["Zeitpunkt;Linie;Menge;Gewicht kg;Energie kWh;Prüfcode"]
    for i in range(30):
        stamp = (FIXED_TIME + dt.timedelta(hours=i)).strftime("%d.%m.%Y %H:%M")
        amount = f"{980 + 37 * i:,}".translate(german)  # passes 1.000: both '980' and '1.017' occur
        weight = f"{1234.5 + 111.11 * i:,.2f}".translate(german)
        energy = f"{12 + i % 7 + i / 100:.2f}".translate(german)
        lines.append(f"{stamp};L{i % 3 + 1};{amount};{weight};{energy};{i % 4:03d}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _whitespace() -> bytes:
    lines = []
    for i in range(25):
        lines.append(
            f"  {i + 1:4d}   {20.5 + i * 0.25:7.2f}\t{-1.5 + (i % 6) * 0.5:6.2f}   {1000 + i * 3:6d}"
        )
    return ("\n".join(lines) + "\n").encode("ascii")


def _utf16() -> bytes:
    lines = ["Station\tMesswert\tEinheit\tBemerkung"]
    for i in range(20):
        lines.append(f"S{i % 3 + 1}\t{10 + i * 0.5}\tmm\t{'Prüfung ok' if i % 4 else 'Ausschuß'}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-16")  # Python writes the BOM (little endian here)


def _cp1252() -> bytes:
    lines = ["Opération,Température °C,Débit l/min,Qualité,Contrôleur"]
    for i in range(25):
        lines.append(
            f"Fraisage {i % 3 + 1},{20 + i * 0.5:.1f},{3.5 + (i % 4) * 0.25},"
            f"{'conforme' if i % 5 else 'rejeté'},{('Zoë', 'Jürgen', 'Renée')[i % 3]}"
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def _quoted_pipe() -> bytes:
    rows = [
        "batch|note|value",
        'B001|"plain note"|1.5',
        'B002|"contains | a pipe"|2.5',
        'B003|"says ""hello"""|3.5',
        'B004|"two\r\nlines"|4.5',
        "B005||5.5",
    ]
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def _day(day: int, renamed: bool = False) -> bytes:
    temp = "temp_c" if not renamed else "temperature_c"
    lines = [f"timestamp,machine_id,{temp},pressure_bar,defect" + (",operator" if renamed else "")]
    for i in range(12):
        stamp = dt.datetime(2026, 3, day, 6) + dt.timedelta(hours=2 * i)
        # day 3 writes whole numbers as '61' in one column: types must still agree after stacking
        temp_value = f"{60 + i % 4}" if day == 3 else f"{60 + i % 4 + 0.25:.2f}"
        extra = ",Ana" if renamed else ""
        lines.append(
            f"{stamp:%Y-%m-%d %H:%M:%S},M{i % 2 + 1:02d},{temp_value},{5 + i / 10:.1f},{int(i == 7)}{extra}"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def _normalised_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry times: openpyxl stamps the current time into each entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 3, 2, 6, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl writes "modified = now" on save
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-03-02T06:00:00Z", content)
            dst.writestr(fixed, content)
    return out.getvalue()


def _xlsx() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.properties.created = FIXED_TIME
    book.properties.modified = FIXED_TIME
    book.properties.creator = "make_fixtures.py"
    book.active.title = "Cover"  # left empty, as title sheets often are once the logo is gone
    line_a = book.create_sheet("Line A")
    line_a.append(["timestamp", "part_code", "width_mm", "passed"])
    for i in range(15):
        line_a.append([FIXED_TIME + dt.timedelta(minutes=5 * i), f"{i % 5:03d}", 12.5 + i / 10, i % 4 != 0])
    line_b = book.create_sheet("Line B")
    line_b.append(["station", "count", "reading"])
    for i in range(8):
        line_b.append([f"ST{i % 2}", i * 10, None if i == 3 else 1.5 * i])
    line_b.append([])  # a blank row, then a note below the data: stays text
    buffer = io.BytesIO()
    book.save(buffer)
    return _normalised_zip(buffer.getvalue())


def _xls() -> bytes:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Messung")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    for col, name in enumerate(["zeit", "teil", "laenge_mm", "anzahl"]):
        sheet.write(0, col, name)
    for i in range(10):
        sheet.write(i + 1, 0, FIXED_TIME + dt.timedelta(hours=i), date_style)
        sheet.write(i + 1, 1, f"T-{100 + i}")
        sheet.write(i + 1, 2, 100.25 + i)
        sheet.write(i + 1, 3, i * 2)
    book.add_sheet("Leer")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _bad() -> dict[str, bytes]:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    return {
        "empty.csv": b"",
        "blank_lines.csv": b"\n\r\n   \n",
        "header_only.csv": b"timestamp,temp_c,pressure_bar\r\n",
        "image.csv": png,
        "workbook_renamed.csv": _xlsx(),
        "nul_bytes.csv": b"a,b\n" + b"\x00" * 2000 + b"1,2\n",
        "ragged.csv": b"id,temp,pressure\n1,20.5,3.1\n2,20.7,3.0\n3,20.9,3.2,oops\n4,21.0,3.1\n",
        "duplicate_columns.csv": b"id,temp,pressure,temp,id\n1,2,3,4,5\n",
        "not_a_workbook.xlsx": b"id,temp\n1,2\n",
        "notes.docx": b"not data",
    }


def fixtures() -> dict[str, bytes]:
    """Every fixture's relative path and bytes."""
    files = {
        "gb18030_chinese.csv": _gb18030(),
        "decimal_comma.csv": _decimal_comma(),
        "whitespace_noheader.dat": _whitespace(),
        "utf16_bom.txt": _utf16(),
        "cp1252_accents.csv": _cp1252(),
        "quoted_pipe.txt": _quoted_pipe(),
        "day_2026-03-02.csv": _day(2),
        "day_2026-03-03.csv": _day(3),
        "day_renamed.csv": _day(4, renamed=True),
        "sheets.xlsx": _xlsx(),
        "legacy.xls": _xls(),
    }
    files.update({f"bad/{name}": data for name, data in _bad().items()})
    return files


def write_all(folder: Path = HERE) -> list[Path]:
    written = []
    for name, data in fixtures().items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written


def main() -> int:
    for path in write_all():
        print(path.relative_to(HERE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
