"""Reading factory exports (CSV/text and Excel) into one DataFrame, without choking.

Detection works on a sample of the file (its first 256 KiB or 500 lines, plus two windows
further in for the encoding): encoding, delimiter, header, decimal mark, thousands separator and
a type for each column. The full load then reads the file in byte ranges cut at line ends, each
parsed by ``pyarrow.csv.read_csv`` on all cores with those types fixed (where a line end can't
be found by its byte, in UTF-16 or with line breaks inside quotes, Arrow's streaming reader takes
over). A worker thread reads ahead while the calling thread copies each parsed range into the
DataFrame's columns, reports progress and honours cancel between ranges (several files are
stacked as Arrow tables first and converted at the end). When a later range
contradicts the sample (an integer column that turns out to hold ``1.5``) the column is widened
and the file read again; that costs time only for such files.

Numbers end as float64/int64 numpy columns, text as pandas' (pyarrow-backed) strings, timestamps
as datetime64[ns]. Expected problems raise :class:`DataError` naming the file, the line or column,
and what to do. Nothing is ever written.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import queue
import re
import stat
import threading
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from mfg_desktop.core.errors import DataError
from mfg_desktop.core.i18n import N_, tr, trn
from mfg_desktop.core.jobs import JobState, ensure_state

WHITESPACE = "whitespace"
SUPPORTED_SUFFIXES = (".csv", ".txt", ".tsv", ".dat", ".xlsx", ".xlsm", ".xls")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv", ".dat")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
DELIMITERS = (",", ";", "\t", "|", WHITESPACE)
THOUSANDS = (",", ".", " ", "'")
SOURCE_COLUMN = "source_file"
_T = TypeVar("_T")

SAMPLE_BYTES = 256 << 10  # detection sample: enough rows for types, small enough to take no time
SAMPLE_MIN_LINES = 500  # ...or more bytes, up to SAMPLE_MAX_BYTES, for files of very long lines
SAMPLE_MAX_BYTES = 4 << 20
PROBE_BYTES = 1 << 18  # extra windows mid-file and at the end, for the encoding only
BLOCK_SIZE = 16 << 20  # one range of a file: enough for all cores, and the step of progress/cancel
RAW_LINES = 30
# Bounds that keep a hostile file from costing minutes or gigabytes (each refused with a message):
MAX_LINE_BYTES = 8 << 20  # one line of a table; a longer one is a document in a field, or no table
MAX_COLUMNS = 4096  # columns of a text file or sheet (Excel allows 16,384, mostly stray cells)
MAX_XLSX_INFLATED = 512 << 20  # all members of an .xlsx unpacked (a sheet of about 10 million cells)
MAX_XLSX_RATIO = 100  # unpacked/packed of one member over 16 MiB: sheet XML packs 5-20 times
MAX_XLSX_MEMBERS = 10_000  # parts of an .xlsx (a workbook of many sheets and images has a few hundred)
CENSUS_BYTES = 256 << 20  # how far the lines are checked one by one when an encoding is in doubt

# Spellings of "missing" seen in MES/Excel exports; pandas' defaults plus Excel error values.
NULL_VALUES = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null", "-", "--",
    "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!",
]  # fmt: skip

# strptime formats tried after ISO 8601; month-first before day-first for slashes, as pandas does.
TIME_FORMATS = (
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y",
)  # fmt: skip

_INT_RE = r"^[+-]?\d+$"
_FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_DATE_START_RE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
_NUMBER_RE = re.compile(r"^[+-]?(\d[\d.,' \u00a0\u202f]*|\.\d+)([eE][+-]?\d+)?$")
_QUOTED_RE = re.compile(r'"[^"]*"')
# Separators of digit groups as they appear in exports; " " stands for all three spaces.
_THOUSANDS_VARIANTS = {" ": (" ", "\u00a0", "\u202f"), "'": ("'", "\u2019"), ",": (",",), ".": (".",)}
_NON_LATIN_LANGUAGES = {
    "Russian", "Ukrainian", "Bulgarian", "Serbian", "Macedonian", "Kazakh", "Belarusian", "Greek",
    "Hebrew", "Arabic", "Persian", "Thai", "Japanese", "Korean", "Vietnamese", "Turkish",
}  # fmt: skip
_MAGIC = (
    (b"\x89PNG", N_("a PNG image")),
    (b"\xff\xd8\xff", N_("a JPEG image")),
    (b"GIF8", N_("a GIF image")),
    (b"%PDF", N_("a PDF document")),
    (b"PK\x03\x04", N_("a ZIP archive (an .xlsx workbook is one: if it is, rename the file to .xlsx)")),
    (b"\xd0\xcf\x11\xe0", N_("an old Excel workbook (if it is, rename the file to .xls)")),
    (b"\x1f\x8b", N_("a gzip archive (unpack it first)")),
    (b"7z\xbc\xaf", N_("a 7-Zip archive (unpack it first)")),
    (b"Rar!", N_("a RAR archive (unpack it first)")),
    (b"SQLite format 3", N_("an SQLite database")),
)
# the same kinds, named without the advice (a workbook that is really one of them)
_MAGIC_SHORT = {
    b"PK\x03\x04": N_("a ZIP archive"), b"\xd0\xcf\x11\xe0": N_("an old Excel workbook"),
    b"\x1f\x8b": N_("a gzip archive"), b"7z\xbc\xaf": N_("a 7-Zip archive"), b"Rar!": N_("a RAR archive"),
}


@dataclass(frozen=True)
class ReadOptions:
    """User overrides; ``None`` means detect. ``thousands=""`` means explicitly none."""

    encoding: str | None = None
    delimiter: str | None = None  # ",", ";", "\t", "|", WHITESPACE
    decimal: str | None = None  # "." or ","
    thousands: str | None = None  # None (detect), "" (none), or "," "." " " "'"
    header: bool | None = None
    sheet: str | int | None = None  # Excel sheet name or index


@dataclass(frozen=True)
class FileSettings:
    """What was detected (or imposed) and used for one file."""

    path: Path
    kind: str  # "csv" | "excel"
    encoding: str | None
    delimiter: str | None
    decimal: str
    thousands: str | None
    header: bool
    sheet: str | None
    sheets: tuple[str, ...]

    def to_options(self) -> ReadOptions:
        """Options that reproduce exactly these settings (e.g. for the next files of a batch)."""
        return ReadOptions(
            encoding=self.encoding,
            delimiter=self.delimiter,
            decimal=self.decimal,
            thousands=self.thousands if self.thousands is not None else "",
            header=self.header,
            sheet=self.sheet,
        )


@dataclass
class Preview:
    settings: FileSettings
    frame: pd.DataFrame
    raw_lines: list[str]


@dataclass
class LoadedData:
    frame: pd.DataFrame
    files: list[FileSettings]
    # what the reading could not take as written, per file with the rows or cells concerned
    notes: list[str] = field(default_factory=list)


@dataclass
class _Column:
    name: str
    kind: str  # "int" | "float" | "time" | "time_tz" | "text"
    transform: bool = False  # read as text, then strip digit groups / decimal comma and cast
    time_format: str | None = None  # strptime format when not ISO 8601
    keep: bool = True  # False for trailing unnamed, empty columns ("a;b;c;;;" exports)


@dataclass
class _Sniff:
    settings: FileSettings
    columns: list[_Column]
    sample: pa.Table  # data rows of the sample as strings, one column per kept file column
    raw_lines: list[str]
    bytes_per_row: float
    arrow_encoding: str
    multiline: bool  # quoted values contain line breaks somewhere in the sample
    auto_encoding: bool = False  # guessed, so a contradiction later in the file may change it
    auto_thousands: bool = False  # likewise for the thousands separator
    line_end: bytes = b"\n"  # b"\r" for old-Mac files: where byte ranges may be cut


class _Retry(Exception):
    """Something learnt while reading (encoding, line breaks in quotes): read the file again."""


class _Widen(_Retry):
    """A column's values contradict its detected type; read again with a wider one."""

    def __init__(self, index: int, value: str | None) -> None:
        super().__init__(index, value)
        self.index = index
        self.value = value


# --------------------------------------------------------------------------- public functions


def detect_settings(path: str | Path, options: ReadOptions | None = None) -> FileSettings:
    """Detect how to read ``path``; any field set in ``options`` is used as given."""
    return _sniff(Path(path), options or ReadOptions()).settings


def preview(path: str | Path, options: ReadOptions | None = None, nrows: int = 100) -> Preview:
    """The first ``nrows`` rows as they will load, the detected settings and the raw first lines."""
    path = Path(path)
    sniff = _sniff(path, options or ReadOptions(), preview_rows=nrows)
    table = sniff.sample.slice(0, nrows)
    if sniff.settings.kind == "excel":
        return Preview(settings=sniff.settings, frame=_to_pandas(table), raw_lines=sniff.raw_lines)
    arrays = []
    for index, column in enumerate(c for c in sniff.columns if c.keep):
        try:
            arrays.append(_convert_text(table.column(index), column, sniff.settings))
        except _Widen:  # the sample fits its own types; only a user's override can get here
            arrays.append(_nullify(table.column(index)))
    names = [c.name for c in sniff.columns if c.keep]
    frame = _to_pandas(pa.table(arrays, names=names))
    return Preview(settings=sniff.settings, frame=frame, raw_lines=sniff.raw_lines)


def load_files(
    paths: str | Path | Sequence[str | Path],
    options: ReadOptions | None = None,
    state: JobState | None = None,
) -> LoadedData:
    """Load one or several files into one DataFrame.

    Several files are stacked in the given order with a ``source_file`` column holding each
    file's name; they must have the same columns (in any order). Progress goes to ``state``
    (fraction of all bytes); ``state.check_cancelled()`` is honoured between blocks.
    """
    state = ensure_state(state)
    options = options or ReadOptions()
    paths = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not paths:
        raise DataError(tr("No file was given."), hint=tr("Choose one or more CSV or Excel files."))
    sizes = [_check_file(p) for p in paths]
    sniffs = []
    for path in paths:  # all first: a file with other columns is reported before a long read
        state.check_cancelled()
        sniffs.append(_sniff(path, options))
    if len(paths) > 1:
        _check_same_columns([[c.name for c in s.columns if c.keep] for s in sniffs], paths)
    if len(paths) == 1 and sniffs[0].settings.kind == "csv" and _FrameBuilder.available:
        # one text file: its ranges go straight into the DataFrame's columns as they are parsed
        state.set_progress(0.0, tr("Reading {file}", file=paths[0].name))
        frame = _read_text(paths[0], sniffs[0], state, 0.0, 1.0, _FrameBuilder)
        state.set_progress(1.0, _loaded(frame))
        return LoadedData(frame=frame, files=[sniffs[0].settings])
    total = float(sum(sizes)) or 1.0
    done = 0.0
    notes: list[str] = []
    tables: list[pa.Table] = []
    for path, size, sniff in zip(paths, sizes, sniffs, strict=True):
        state.check_cancelled()
        start, span = done / total, size / total
        state.set_progress(start, tr("Reading {file}", file=path.name))
        if sniff.settings.kind == "excel":
            tables.append(_read_excel_table(path, sniff.settings, options, state, start, span, notes))
        else:
            tables.append(_read_text(path, sniff, state, start, span, _Tables))
        done += size
    files = [sniff.settings for sniff in sniffs]  # after reading: a fallback encoding shows here
    table = tables[0] if len(tables) == 1 else _stack(tables, paths)
    del tables
    state.set_progress(0.99, tr("Building the table"))
    frame = _to_pandas(table)
    state.set_progress(1.0, _loaded(frame))
    return LoadedData(frame=frame, files=files, notes=notes)


def _loaded(frame: pd.DataFrame) -> str:
    return tr("Loaded {rows:,} rows x {columns} columns", rows=len(frame), columns=frame.shape[1])


# --------------------------------------------------------------------------- file checks


def _check_file(path: Path) -> int:
    """Size of a readable, supported file, or a DataError saying what is wrong with it."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(
            tr("files ending in '{suffix}' are not supported.", suffix=path.suffix or tr("(no extension)")),
            file=path,
            hint=tr("Open a CSV/text file ({text}) or an Excel workbook ({excel}).",
                    text=" ".join(TEXT_SUFFIXES), excel=" ".join(EXCEL_SUFFIXES)),
        )
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise DataError(
                tr("the file is a link to {target}, which does not exist.", target=os.readlink(path)),
                file=path,
                hint=tr("Open the file the link was meant for, or make the link again."),
            ) from None
        raise DataError(
            tr("file not found (looked in {folder}).", folder=path.parent.resolve()),
            file=path,
            hint=tr("Check the name and folder, or pick the file again with File > Open."),
        ) from None
    except PermissionError:
        raise _permission_denied(path) from None
    except OSError as exc:
        raise DataError(tr("the file cannot be read ({error}).", error=exc.strerror or exc), file=path) from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(tr("this is a folder, not a file."), file=path, hint=tr("Choose a file inside it."))
    if not stat.S_ISREG(info.st_mode):
        # a named pipe or a device: reading it could wait forever or never end
        raise DataError(
            tr("this is not a regular file (a pipe or a device), so it cannot be read as a table."),
            file=path,
            hint=tr("Save the data to a file first and open that."),
        )
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        size = info.st_size
    except PermissionError:
        raise _permission_denied(path) from None
    except OSError as exc:
        raise DataError(tr("the file cannot be read ({error}).", error=exc.strerror or exc), file=path) from None
    if size == 0:
        raise DataError(
            tr("the file is empty (0 bytes)."),
            file=path,
            hint=tr("Export the data again: the export or the copy probably failed."),
        )
    return size


def _permission_denied(path: Path) -> DataError:
    return DataError(
        tr("the file cannot be read: permission denied."),
        file=path,
        hint=tr("Ask for read access, or copy the file to a folder of your own."),
    )


def _check_magic(path: Path, head: bytes) -> None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise DataError(
                tr("this is not a text (CSV) file: it looks like {what}.", what=tr(what)),
                file=path,
                hint=tr("Open the data export itself (CSV, text or Excel)."),
            )


def _check_controls(path: Path, head: bytes) -> None:
    window = head[:65536]
    controls = sum(window.count(bytes([b])) for b in (*range(8), 11, *range(14, 27), *range(28, 32)))
    if controls > 0.01 * len(window):
        raise DataError(
            tr("this is not a text (CSV) file: {controls} of its first {size} bytes are control characters.",
               controls=controls, size=len(window)),
            file=path,
            hint=tr("Open the data export itself (CSV, text or Excel), or check that the file is not damaged."),
        )


def _read_probe(path: Path, size: int) -> tuple[bytes, bytes]:
    """The head sample, and head plus windows from the middle and the end (for the encoding)."""
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        while len(head) < SAMPLE_MAX_BYTES and head.count(b"\n") < SAMPLE_MIN_LINES:
            more = handle.read(max(len(head), 1))
            if not more:
                break
            head += more
        probe = head
        if size > len(head) + 2 * PROBE_BYTES:
            for offset in (size // 2, size - PROBE_BYTES):
                handle.seek(offset)
                window = handle.read(PROBE_BYTES)
                # start after a line break: no multi-byte character of the encodings we meet spans one
                cut = window.find(b"\n")
                probe += b"\n" + (window[cut + 1 :] if cut >= 0 else b"")
    return head, probe


def _listing(numbers: Sequence[int], total: int | None = None) -> str:
    """'line 5', 'lines 5, 12 and 20', 'lines 5, 12, 20, 31, 40 and 7 more'."""
    total = len(numbers) if total is None else total
    shown = [f"{n:,}" for n in numbers[:5]]
    if total == 1:
        return tr("line {line}", line=shown[0])
    if total > len(shown):
        return tr("lines {lines} and {n:,} more", lines=", ".join(shown), n=total - len(shown))
    return tr("lines {lines} and {last}", lines=", ".join(shown[:-1]), last=shown[-1])


def _check_line_length(path: Path, head: bytes, complete: bool, line_end: bytes) -> None:
    """Refuse a line longer than MAX_LINE_BYTES before anything tries to parse it."""
    if complete or len(head) < SAMPLE_MAX_BYTES:
        return
    last = max(head.rfind(b"\n"), head.rfind(b"\r"))
    if len(head) - last - 1 < SAMPLE_MAX_BYTES // 2:
        return
    with open(path, "rb") as handle:
        handle.seek(last + 1)
        stretch = handle.read(MAX_LINE_BYTES + 1)
    if b"\n" in stretch or b"\r" in stretch or len(stretch) <= MAX_LINE_BYTES:
        return
    raise _long_line(path, head[: last + 1].count(line_end) + 1)


def _long_line(path: Path, line: int | None) -> DataError:
    where = tr("line {line:,}", line=line) if line is not None else tr("a line")
    return DataError(
        tr("{where} is longer than {limit} MiB without a line end; a table has no such "
           "lines (a whole document in one field, or a file that is not a table).",
           where=where, limit=MAX_LINE_BYTES >> 20),
        file=path,
        row=None,
        hint=tr("Remove that field or line, or export the table again without it."),
    )


def _check_nul(path: Path, data: bytes, line_end: bytes, first_line: int = 1) -> None:
    """NUL bytes never occur in a text export: refuse, naming the lines, instead of guessing."""
    if b"\0" not in data:
        return
    lines = [first_line + n for n, line in enumerate(data.split(line_end)) if b"\0" in line]
    raise DataError(
        trn("{lines} holds NUL bytes (0x00), which no text export contains: the file is damaged or was "
            "copied before it was completely written.",
            "{lines} hold NUL bytes (0x00), which no text export contains: the file is damaged or was "
            "copied before it was completely written.", len(lines), lines=_listing(lines)),
        file=path,
        row=lines[0],
        hint=tr("Export or copy the file again; if it is the only copy, remove those bytes in a text editor."),
    )


def _census(
    source: Path | bytes, encoding: str, line_end: bytes, limit: int = CENSUS_BYTES
) -> tuple[list[int], int, bool]:
    """Lines (numbers from 1, at most 5) not valid in ``encoding``, how many, and whether some
    line with non-ASCII characters is valid: of the bytes given, or read through the file (up to
    ``limit`` bytes)."""
    bad: list[int] = []
    bad_count = 0
    good = False
    line = 1
    carry = b""
    with open(source, "rb") if isinstance(source, Path) else io.BytesIO(source) as handle:
        while handle.tell() < limit:
            block = handle.read(BLOCK_SIZE)
            if not block:
                parts, carry = [carry], b""
            else:
                parts = (carry + block).split(line_end)
                carry = parts.pop()
            for part in parts:
                if not part.isascii():
                    try:
                        part.decode(encoding)
                        good = True
                    except UnicodeDecodeError:
                        bad_count += 1
                        if len(bad) < 5:
                            bad.append(line)
                line += 1
            if not block:
                break
    return bad, bad_count, good


_UTF8_MULTIBYTE_RE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _check_mixed_utf8(path: Path, line_end: bytes, sample: bytes | None = None) -> None:
    """Refuse a file whose lines are partly UTF-8, partly another encoding (two programs wrote it):
    any single encoding would read some of its lines wrong. With ``sample`` (what detection read),
    only a mix found there sends the file through line by line, for the line numbers."""
    if sample is not None:
        if not _UTF8_MULTIBYTE_RE.search(sample):
            return  # no UTF-8 character at all (a plain cp1252 file): nothing to mix with
        bad, _count, good = _census(sample, "utf-8", line_end)
        if not (bad and good):
            return
    bad, count, good = _census(path, "utf-8", line_end)
    if bad and good:
        raise DataError(
            trn("the file mixes two encodings: {lines} is not UTF-8, while the other lines with accented or "
                "Chinese characters are; one encoding would read some lines wrong.",
                "the file mixes two encodings: {lines} are not UTF-8, while the other lines with accented or "
                "Chinese characters are; one encoding would read some lines wrong.", count,
                lines=_listing(bad, count)),
            file=path,
            row=bad[0],
            hint=tr("Export the file again in one encoding, or re-save those lines as UTF-8 in an editor."),
        )


def _bad_byte(exc: UnicodeDecodeError, encoding: str) -> str:
    return tr("byte 0x{byte:02x} is not valid {encoding}", byte=exc.object[exc.start], encoding=encoding)


def _undecodable(
    path: Path, encoding: str, line_end: bytes, exc: UnicodeDecodeError | None = None
) -> DataError:
    """The lines that ``encoding`` cannot read, as a DataError."""
    bad, count, _good = _census(path, encoding, line_end)
    if bad:
        what = trn("{lines} holds bytes that are not valid {encoding}", "{lines} hold bytes that are not valid {encoding}",
                   count, lines=_listing(bad, count), encoding=encoding)
    elif exc is not None:
        what = _bad_byte(exc, encoding)
    else:
        what = tr("some bytes are not valid {encoding}", encoding=encoding)
    return DataError(
        tr("the file cannot be read as {encoding}: {problem}.", encoding=encoding, problem=what),
        file=path,
        row=bad[0] if bad else None,
        hint=tr("Choose another encoding in the preview or with --encoding (e.g. utf-8, gb18030, utf-16 "
                "or cp1252), or fix those lines."),
    )


# --------------------------------------------------------------------------- encoding


def _unicode_encoding(head: bytes) -> str | None:
    """The encoding a byte-order mark (or UTF-16's NUL pattern) gives away, if any."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # UTF-16 without BOM: plain ASCII text with a NUL beside every character
    window = head[:4096]
    if len(window) >= 8:
        even_nul = window[0::2].count(0) / len(window[0::2])
        odd_nul = window[1::2].count(0) / len(window[1::2])
        if odd_nul > 0.4 and even_nul < 0.05:
            return "utf-16-le"
        if even_nul > 0.4 and odd_nul < 0.05:
            return "utf-16-be"
    return None


def _detect_encoding(probe: bytes) -> str:
    """Name of the encoding of BOM-less 8-bit text (a Python codec name)."""
    if _decodes(probe, "utf-8"):
        return "utf-8"
    return _guess_legacy_encoding(probe)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        # not final: the sample may end inside a multi-byte character
        codecs.getincrementaldecoder(encoding)("strict").decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _looks_chinese(data: bytes) -> bool:
    """True when the bytes read as GB18030 text made of common Chinese characters.

    Latin-1 text with accents often decodes as GB18030 too, but an accent byte followed by an
    ASCII letter makes a rare GBK-extension character; real Chinese text is mostly GB2312
    characters, whose two bytes are both >= 0xA1.
    """
    # a few invalid bytes (reported line by line later) do not make Chinese text another language
    text = codecs.getincrementaldecoder("gb18030")("replace").decode(data, final=False)
    counts = Counter(re.findall(r"[^\x00-\x7f]", text))
    damaged = counts.pop("\ufffd", 0)
    total = sum(counts.values())
    if not total or damaged > max(3, total // 100):
        return False
    common = 0
    for char, n in counts.items():
        encoded = char.encode("gb18030")
        if len(encoded) == 2 and encoded[0] >= 0xA1 and encoded[1] >= 0xA1:
            common += n
    return common >= 0.8 * total


def _guess_legacy_encoding(data: bytes) -> str:
    """Encoding of non-UTF-8 bytes, normalised to what factory PCs actually write."""
    if _looks_chinese(data):
        return "gb18030"
    from charset_normalizer import from_bytes  # imported here: only non-UTF-8 files need it

    best = from_bytes(data[:SAMPLE_BYTES]).best()
    # On short samples the detector names odd code pages (big5 for "noël", iso8859_14 for German);
    # only a recognised non-Latin language makes its guess better than the Windows Latin default.
    if best is not None and best.language in _NON_LATIN_LANGUAGES:
        name = codecs.lookup(best.encoding).name
        if not name.startswith("utf") and _decodes(data, name):
            return name
    return "cp1252" if _decodes(data, "cp1252") else "latin-1"


def _arrow_encoding(encoding: str) -> str:
    # Arrow parses UTF-8 natively (and skips a UTF-8 BOM itself); anything else is transcoded.
    return "utf8" if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else encoding


def _normalise_encoding(path: Path, encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(
            tr("unknown encoding '{encoding}'.", encoding=encoding),
            file=path,
            hint=tr("Choose one such as utf-8, utf-8-sig, gb18030, utf-16 or cp1252."),
        ) from None
    return encoding


# --------------------------------------------------------------------------- sniffing


def _sniff(path: Path, options: ReadOptions, preview_rows: int = 0) -> _Sniff:
    size = _check_file(path)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _sniff_excel(path, options, max(preview_rows, 100), preview=preview_rows > 0)
    head, probe = _read_probe(path, size)
    complete = len(head) >= size
    _check_magic(path, head)
    encoding = _normalise_encoding(path, options.encoding) if options.encoding else _unicode_encoding(head)
    wide = encoding is not None and codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    line_end = b"\n" if b"\n" in head or b"\r" not in head else b"\r"
    if not wide:
        _check_controls(path, head)
        _check_line_length(path, head, complete, line_end)
        _check_nul(path, head, line_end)
    if encoding is None and not _decodes(probe, "utf-8"):
        _check_mixed_utf8(path, line_end, probe)  # reading finds a mix beyond the probe
    encoding = encoding or _detect_encoding(probe)
    try:
        text = codecs.getincrementaldecoder(encoding)("strict").decode(head, final=complete)
    except UnicodeDecodeError as exc:
        raise _undecodable(path, encoding, line_end, exc) from None
    text = text.lstrip("\ufeff")
    if not complete:
        # the last line may be cut in the middle
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: cut + 1] if cut > 0 else text
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise DataError(
            tr("the file has no data: it contains only blank lines."),
            file=path,
            hint=tr("Export the data again: the export probably failed."),
        )
    delimiter = _delimiter_option(path, options.delimiter) or _detect_delimiter(lines)
    try:
        rows = _parse_sample(path, text, delimiter)
    except DataError:
        if complete or delimiter == WHITESPACE:
            raise
        # the sample may end inside a quoted value that spans lines: parse without that record
        text = _without_last_record(text, delimiter)
        rows = _parse_sample(path, text, delimiter)
    if rows.num_columns > MAX_COLUMNS:
        raise DataError(
            tr("the file has {n:,} columns; this app reads at most {limit:,}.", n=rows.num_columns, limit=MAX_COLUMNS),
            file=path,
            hint=tr("Export only the columns you need (or a transposed table: one row per measurement)."),
        )
    first = [rows.column(i)[0].as_py() for i in range(rows.num_columns)]
    header = options.header if options.header is not None else _looks_like_header(first)
    data = rows.slice(1) if header else rows
    if data.num_rows == 0 and complete:
        raise DataError(
            tr("the file has a header line but no data rows.") if header else tr("the file has no data rows."),
            file=path,
            hint=tr("Export again including the data, or check that you picked the right file."),
        )
    names = _column_names(path, first, header)
    values = _cleaned_values(data)
    # the decimal mark shows on every line: a few hundred suffice, all columns in one array
    marks = pa.concat_arrays(
        [pa.array([], pa.string())] + [c.combine_chunks() for c in values.slice(0, 500).columns]
    )
    decimal = options.decimal or _detect_decimal(marks, delimiter)
    if options.thousands is not None:
        thousands = options.thousands or None
    else:
        thousands = _detect_thousands(marks, decimal, delimiter)
    if decimal not in (".", ","):
        raise DataError(tr("unknown decimal mark '{decimal}'.", decimal=decimal), file=path, hint=tr("Use '.' or ','."))
    if thousands is not None and (thousands not in THOUSANDS or thousands == decimal):
        raise DataError(
            tr("unusable thousands separator '{thousands}'.", thousands=thousands),
            file=path,
            hint=tr("Use none, or one of , . ' and space (not the decimal mark)."),
        )
    columns = []
    for index, name in enumerate(names):
        column = _infer_column(name, values.column(index), decimal, thousands)
        if name.startswith("\0"):  # unnamed: kept unless it is empty and at the end
            column.name = name[1:]
        columns.append(column)
    grouping = FileSettings(path, "csv", encoding, delimiter, decimal, thousands, bool(header), None, ())
    for index, column in enumerate(columns):
        if column.transform:
            _check_grouping(path, column.name, values.column(index), grouping, 2 if header else 1)
    for index in range(len(columns) - 1, 0, -1):
        if names[index].startswith("\0") and values.column(index).null_count == values.num_rows:
            columns[index].keep = False
        else:
            break
    kept = [i for i, c in enumerate(columns) if c.keep]
    sample = data.select(kept).rename_columns([columns[i].name for i in kept])
    settings = FileSettings(
        path=path,
        kind="csv",
        encoding=encoding,
        delimiter=delimiter,
        decimal=decimal,
        thousands=thousands,
        header=bool(header),
        sheet=None,
        sheets=(),
    )
    bytes_per_row = max(len(text.encode(encoding, errors="replace")) / max(rows.num_rows, 1), 1.0)
    # a line break inside quotes leaves an odd number of quote marks on its line ("" adds two)
    multiline = delimiter != WHITESPACE and '"' in text and any(line.count('"') % 2 for line in lines)
    return _Sniff(
        settings=settings,
        columns=columns,
        sample=sample,
        raw_lines=lines[:RAW_LINES],
        bytes_per_row=bytes_per_row,
        arrow_encoding=_arrow_encoding(encoding),
        multiline=bool(multiline),
        auto_encoding=options.encoding is None,
        auto_thousands=options.thousands is None,
        line_end=line_end,
    )


def _delimiter_option(path: Path, delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    aliases = {
        "tab": "\t", "\\t": "\t", "space": WHITESPACE, " ": WHITESPACE, "comma": ",",
        "semicolon": ";", "pipe": "|",
    }  # fmt: skip
    value = aliases.get(delimiter.lower(), delimiter)
    if value not in DELIMITERS:
        raise DataError(
            tr("unknown delimiter {delimiter!r}.", delimiter=delimiter),
            file=path,
            hint=tr("Use one of: comma, semicolon, tab, | or whitespace."),
        )
    return value


def _detect_delimiter(lines: list[str]) -> str:
    """The delimiter found the same number of times on (nearly) every line."""
    lines = [_QUOTED_RE.sub("", line) for line in lines[:200] if line.strip()]
    scores: dict[str, float] = {}
    for candidate in (",", ";", "\t", "|", WHITESPACE):
        if candidate == WHITESPACE:
            counts = [len(line.split()) - 1 for line in lines]
        else:
            counts = [line.count(candidate) for line in lines]
        mode, hits = Counter(counts).most_common(1)[0]
        if mode > 0:
            scores[candidate] = hits / len(lines)
    if not scores:
        return ","  # one column
    if scores.get("\t", 0.0) >= 0.9 and scores.get(WHITESPACE, 0.0) >= 0.9:
        # columns aligned with spaces, a tab here and there: whitespace unless the tabs alone split it
        padded = sum(1 for line in lines if re.search(r"^\s|\S {2,}\S", line)) / len(lines)
        if padded >= 0.9:
            return WHITESPACE
    # A ';' or tab file has commas as decimal marks, often just as regularly: prefer those.
    for candidate in ("\t", ";", "|", ",", WHITESPACE):
        if scores.get(candidate, 0.0) >= 0.9:
            return candidate
    return max(scores, key=lambda c: scores[c])


def _without_last_record(text: str, delimiter: str) -> str:
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"')
    last_start = consumed = 0
    for _record in reader:
        last_start, consumed = consumed, reader.line_num
    return "".join(lines[:last_start])


def _parse_sample(path: Path, text: str, delimiter: str) -> pa.Table:
    """The sample parsed into string columns f0..fN (the header line included as row 0)."""
    if delimiter == WHITESPACE:
        try:
            frame = pd.read_csv(
                io.StringIO(text), sep=r"\s+", header=None, dtype=str, keep_default_na=False,
                na_filter=False, engine="c", quoting=csv.QUOTE_MINIMAL,
            )  # fmt: skip
        except pd.errors.ParserError as exc:
            raise _ragged_from_pandas(path, exc, delimiter) from None
        return pa.table({f"f{i}": pa.array(frame[c].to_numpy(), pa.string()) for i, c in enumerate(frame)})
    first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"'), [])
    names = [f"f{i}" for i in range(max(len(first), 1))]
    data = text.encode("utf-8")
    try:
        return pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, block_size=max(len(data), 1 << 16) + 1),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, quote_char='"', double_quote=True, newlines_in_values=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as exc:
        line = _find_ragged_line(io.StringIO(text, newline=""), delimiter, len(names))
        if line is not None:
            raise _ragged_error(path, line[0], line[1], len(names), delimiter, line[2]) from None
        raise DataError(tr("the file cannot be parsed: {error}", error=_arrow_message(exc)), file=path) from None


def _looks_like_header(first: Sequence[str | None]) -> bool:
    """A first row without numbers or dates is a header (a data row nearly always has one)."""
    values = [v.strip() for v in first if v is not None and v.strip()]
    if not values:
        return False
    return not any(_NUMBER_RE.match(v) or _DATE_START_RE.match(v) for v in values)


def _column_names(path: Path, first: Sequence[str | None], header: bool) -> list[str]:
    """Names from the header row ("\\0" + index marks a blank one), or col_1... without header."""
    if not header:
        return [f"col_{i + 1}" for i in range(len(first))]
    names = [(v or "").strip() or f"\0{i}" for i, v in enumerate(first)]
    seen: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        seen.setdefault(name, []).append(index + 1)
    duplicates = {name: where for name, where in seen.items() if len(where) > 1 and name[0] != "\0"}
    if duplicates:
        listed = tr("; ").join(
            tr("'{name}' (columns {columns} and {last})", name=name, columns=", ".join(map(str, where[:-1])),
               last=where[-1])
            for name, where in duplicates.items()
        )
        raise DataError(
            tr("duplicate column names: {names}.", names=listed),
            file=path,
            column=next(iter(duplicates)),
            hint=tr("Rename the columns so that each name appears once, then load the file again."),
        )
    taken = set(names)
    for index, name in enumerate(names):
        if name[0] == "\0":
            generated = f"col_{index + 1}"
            while generated in taken:
                generated += "_"
            taken.add(generated)
            names[index] = "\0" + generated
    return names


def _nullify(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    is_null_word = pc.is_in(values, value_set=_NULL_SET)
    return pc.if_else(is_null_word, pa.scalar(None, pa.string()), values)


_NULL_SET = pa.array(NULL_VALUES, pa.string())


def _cleaned_values(data: pa.Table) -> pa.Table:
    """Sample values trimmed, with the spellings of "missing" made null."""
    return pa.table([_nullify(pc.utf8_trim_whitespace(col)) for col in data.columns], names=data.column_names)


def _count(values: pa.Array, pattern: str) -> int:
    return pc.sum(pc.match_substring_regex(values, pattern)).as_py() or 0


def _detect_decimal(values: pa.Array, delimiter: str) -> str:
    """',' when the numbers say so unambiguously: '12,5' or '0,125' or '1.234,5', not '1,234'."""
    comma = _count(values, r"^[+-]?(\d*,\d{1,2}|\d*,\d{4,}|0,\d+|\d{1,3}(\.\d{3})+,\d+)$")
    point = _count(values, r"^[+-]?(\d*\.\d{1,2}|\d*\.\d{4,}|0\.\d+|\d{1,3}(,\d{3})+\.\d+)([eE][+-]?\d+)?$")
    if comma != point:
        return "," if comma > point else "."
    if comma == 0 and delimiter not in (",", WHITESPACE) and _count(values, r"^[+-]?\d{1,3},\d{3}$"):
        return ","  # only '1,234'-like values, in a file whose delimiter leaves the comma free
    return "."


def _detect_thousands(values: pa.Array, decimal: str, delimiter: str) -> str | None:
    fraction = r"(,\d+)?$" if decimal == "," else r"(\.\d+)?$"
    candidates = {"'": "['\u2019]"}  # RE2 takes the characters themselves, not \u escapes
    if decimal == ",":
        candidates["."] = r"\."
    else:
        candidates[","] = ","
    if delimiter != WHITESPACE:
        candidates[" "] = "[ \u00a0\u202f]"
    counts = {
        sep: _count(values, rf"^[+-]?\d{{1,3}}({rx}\d{{3}})+{fraction}") for sep, rx in candidates.items()
    }
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else None


def misgrouped_numbers(
    values: pa.ChunkedArray | pa.Array, thousands: str, decimal: str
) -> tuple[pa.ChunkedArray | pa.Array, pa.ChunkedArray | pa.Array]:
    """(values holding the thousands separator where it cannot be one, e.g. '42,8' with ',';
    values properly grouped, '1,234.5'), as boolean arrays without nulls."""
    group = "[" + "".join(re.escape(v) for v in _THOUSANDS_VARIANTS[thousands]) + "]"
    has = pc.match_substring_regex(values, group)
    pattern = rf"^[+-]?\d{{1,3}}({group}\d{{3}})+({re.escape(decimal)}\d*)?([eE][+-]?\d+)?$"
    grouped = pc.fill_null(pc.match_substring_regex(values, pattern), False)
    return pc.fill_null(pc.and_(has, pc.invert(grouped)), False), grouped


_MARK_NAMES = {" ": N_("space"), "'": N_("apostrophe")}  # thousands separators named in messages


def _check_grouping(
    path: Path, name: str, values: pa.ChunkedArray | pa.Array, settings: FileSettings, first_line: int | None
) -> None:
    """Refuse a number column where the thousands separator also appears where it cannot be one
    ('42,8' among '1,234.5'; '3.5' among '1.234,5'): stripping it would turn 42.8 into 428."""
    thousands, decimal = settings.thousands, settings.decimal
    if thousands is None:
        return
    wrong, grouped = misgrouped_numbers(values, thousands, decimal)
    if not pc.any(wrong).as_py():
        return
    if isinstance(wrong, pa.ChunkedArray):
        wrong = wrong.combine_chunks()
    position = int(np.flatnonzero(wrong.to_numpy(zero_copy_only=False))[0])
    value = values[position].as_py()
    good = pc.filter(values, grouped)
    mark = tr(_MARK_NAMES[thousands]) if thousands in _MARK_NAMES else f"'{thousands}'"
    # TRANSLATORS: {where} is " (line N)" or empty, {example} " such as '1,234.5'" or empty
    where = tr(" (line {line:,})", line=first_line + position) if first_line is not None else ""
    example = tr(" such as '{value}'", value=good[0].as_py()) if len(good) else ""
    raise DataError(
        tr("the column mixes number formats: '{value}'{where} holds the {mark} that groups thousands in "
           "values{example}, but not as a thousands separator (a decimal mark of another format?); "
           "read either way, some of its numbers would come out wrong.",
           value=value, where=where, mark=mark, example=example),
        file=path,
        column=name,
        row=first_line + position if first_line is not None else None,
        hint=tr("Fix those values in the export (one number format per column), or set the decimal mark "
                "and thousands separator in the preview."),
    )


def _strip_thousands(values: pa.ChunkedArray | pa.Array, thousands: str | None):
    for variant in _THOUSANDS_VARIANTS.get(thousands or "", ()):
        values = pc.replace_substring(values, variant, "")
    return values


def _any_match(values: pa.Array, pattern: str) -> bool:
    return bool(pc.any(pc.match_substring_regex(values, pattern)).as_py())


def _casts(values: pa.Array, target: pa.DataType) -> bool:
    # Arrow's cast parses numbers exactly as its CSV reader will, and fast; but a failing cast is
    # slow (about 20x a good one), and most columns fail on their first values: try those first
    try:
        if len(values) > 64:
            pc.cast(values[:32], target)
        pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _looks_like_code(values: pa.Array, whole: bool = True) -> bool:
    """Zero-padded ('007'), hexadecimal or 19+ digit numbers are identifiers, not quantities."""
    # the cheap test first: most columns have no value starting with a zero
    padded = whole and pc.any(pc.starts_with(pc.utf8_ltrim(values, "+-"), "0")).as_py()
    if padded and _any_match(values, r"^[+-]?0[\dxX]"):
        return True
    return (pc.max(pc.utf8_length(values)).as_py() or 0) >= 19 and _any_match(values, r"\d{19}")


def _infer_column(
    name: str, values: pa.ChunkedArray | pa.Array, decimal: str, thousands: str | None
) -> _Column:
    """Type of a column from its (trimmed, null-cleaned) sample values."""
    present = values.drop_null()
    if isinstance(present, pa.ChunkedArray):
        present = present.combine_chunks()
    if len(present) == 0:
        return _Column(name, "float")  # all missing here: most likely a sensor that dropped out
    if _casts(present, pa.int64()):
        return _Column(name, "text" if _looks_like_code(present) else "int")
    stripped = _strip_thousands(present, thousands)
    transform = thousands is not None and not pc.all(pc.equal(stripped, present)).as_py()
    if transform and _casts(stripped, pa.int64()):
        return _Column(name, "text" if _looks_like_code(stripped) else "int", transform=True)
    # Arrow parses floats with the one decimal mark it is given: the other one must not occur
    other = "." if decimal == "," else ","
    if not pc.any(pc.match_substring(stripped, other)).as_py():
        numbers = pc.replace_substring(stripped, ",", ".") if decimal == "," else stripped
        if _casts(numbers, pa.float64()):
            code = _looks_like_code(present, whole=False)
            return _Column(name, "text" if code else "float", transform=transform)
    return _infer_time(name, present)


def _infer_time(name: str, present: pa.Array) -> _Column:
    # a timestamp column looks like one from its first values on
    if not _any_match(present[:200], r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"):
        return _Column(name, "text")
    for kind, target in (("time", pa.timestamp("ns")), ("time_tz", pa.timestamp("ns", "UTC"))):
        if _casts(present, target):
            return _Column(name, kind)
    for fmt in TIME_FORMATS:
        parsed = pc.strptime(present, format=fmt, unit="ns", error_is_null=True)
        if parsed.null_count == 0:
            return _Column(name, "time", time_format=fmt)
    return _Column(name, "text")


def _read_type(column: _Column) -> pa.DataType:
    if column.transform or column.kind == "text":
        return pa.string()
    return {
        "int": pa.int64(),
        "float": pa.float64(),
        "time": pa.timestamp("ns"),
        "time_tz": pa.timestamp("ns", "UTC"),
    }[column.kind]


def _final_type(column: _Column) -> pa.DataType:
    return pa.string() if column.kind == "text" else _read_type(_Column(column.name, column.kind))


def _convert_text(values: pa.ChunkedArray | pa.Array, column: _Column, settings: FileSettings):
    """String values of one column converted to its type; raises _Widen(-1, value) if one won't."""
    if column.kind == "text":
        return _nullify(values)
    trimmed = _nullify(pc.utf8_trim_whitespace(values))
    if column.kind in ("int", "float"):
        numbers = _strip_thousands(trimmed, settings.thousands)
        if settings.decimal == ",":
            numbers = pc.replace_substring(numbers, ",", ".")
        pattern = _INT_RE if column.kind == "int" else _FLOAT_RE
        try:
            return pc.cast(numbers, _final_type(column))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise _Widen(-1, _first_mismatch(trimmed, numbers, pattern)) from None
    if column.time_format:
        parsed = pc.strptime(trimmed, format=column.time_format, unit="ns", error_is_null=True)
        if parsed.null_count != trimmed.null_count:
            bad = pc.and_(pc.is_null(parsed), pc.is_valid(trimmed))
            raise _Widen(-1, pc.filter(trimmed, bad)[0].as_py())
        return parsed
    try:
        return pc.cast(trimmed, _final_type(column))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise _Widen(-1, None) from None


def _first_mismatch(original, numbers, pattern: str) -> str | None:
    bad = pc.and_(pc.invert(pc.match_substring_regex(numbers, pattern)), pc.is_valid(numbers))
    found = pc.filter(original, bad)
    return found[0].as_py() if len(found) else None


def _learn_thousands(sniff: _Sniff, value: str | None) -> None:
    """A '1.234,5' first met beyond the sample tells the thousands separator, unless one was set."""
    settings = sniff.settings
    if settings.thousands is not None or not sniff.auto_thousands or value is None:
        return
    natural = "." if settings.decimal == "," else ","
    grouped = rf"^[+-]?\d{{1,3}}({re.escape(natural)}\d{{3}})+({re.escape(settings.decimal)}\d+)?$"
    if re.match(grouped, value.strip()):
        sniff.settings = FileSettings(**{**vars(settings), "thousands": natural})


def _widened(column: _Column, value: str | None, settings: FileSettings) -> _Column:
    """The next wider type for a column whose ``value`` did not fit; text in the end."""
    text = (value or "").strip()
    plain = pa.array([text])
    stripped = _strip_thousands(plain, settings.thousands)
    grouped = stripped[0].as_py() != text
    numbers = pc.replace_substring(stripped, ",", ".") if settings.decimal == "," else stripped
    other = "." if settings.decimal == "," else ","
    is_float = other not in stripped[0].as_py() and _casts(numbers, pa.float64())
    keep = column.keep
    wider = _Column(column.name, "text", keep=keep)
    if value is not None and column.kind == "int":
        if _casts(stripped, pa.int64()) and not _looks_like_code(stripped):
            wider = _Column(column.name, "int", transform=True, keep=keep)
        elif is_float:
            wider = _Column(column.name, "float", transform=grouped or column.transform, keep=keep)
    elif value is not None and column.kind == "float" and grouped and is_float:
        wider = _Column(column.name, "float", transform=True, keep=keep)
    if (wider.kind, wider.transform) == (column.kind, column.transform):
        wider = _Column(column.name, "text", keep=keep)
    return wider


# --------------------------------------------------------------------------- errors of shape


_DELIMITER_NAMES = {",": N_("comma"), ";": N_("semicolon"), "\t": N_("tab"), "|": "'|'", WHITESPACE: N_("whitespace")}


def _ragged_error(
    path: Path, line: int, fields: int, expected: int, delimiter: str, last: bool = False
) -> DataError:
    hint = tr("Fix that line (a stray {delimiter} or a missing quote?), or choose another delimiter.",
              delimiter=tr(_DELIMITER_NAMES[delimiter]))
    if last and fields < expected:
        hint = tr(
            "It is the last line and stops short: the file was perhaps copied while it was still being "
            "written. Copy it again once the export has finished, or fix that line."
        )
    return DataError(
        tr("line {line} has {fields} fields, but the first line has {expected}.", line=line, fields=fields,
           expected=expected),
        file=path, row=line, hint=hint,
    )


def _ragged_from_pandas(path: Path, exc: Exception, delimiter: str) -> DataError:
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found:
        expected, line, fields = map(int, found.groups())
        return _ragged_error(path, line, fields, expected, delimiter)
    return DataError(tr("the file cannot be parsed: {error}", error=exc), file=path)


def _find_ragged_line(lines: Iterable[str], delimiter: str, expected: int, state: JobState | None = None):
    """(line number, field count, last row?) of the first row whose field count differs, or None."""
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"')
    for count, row in enumerate(reader):
        if state is not None and count % 100_000 == 0:
            state.check_cancelled()
        if row and len(row) != expected:
            line = reader.line_num
            last = next((rest for rest in reader if rest), None) is None  # only blank lines follow
            return line, len(row), last
    return None


def _arrow_message(exc: Exception) -> str:
    # Arrow counts rows within the range it was given, not in the file: leave those out
    return re.sub(r"Row #\d+: ", "", str(exc).split("\n")[0].removeprefix("CSV parse error: "))


# --------------------------------------------------------------------------- reading text files


def _read_text(path: Path, sniff: _Sniff, state: JobState, start: float, span: float, sink: type[_Sink]):
    """The file read into a new ``sink`` (typed columns); returns what the sink makes of it."""
    columns = [_Column(**vars(c)) for c in sniff.columns]
    for _attempt in range(3 * len(columns) + 4):
        try:
            stream = _stream_whitespace if sniff.settings.delimiter == WHITESPACE else _stream_csv
            parts = sink(pa.schema([(c.name, _final_type(c)) for c in columns if c.keep]))
            stream(path, sniff, columns, state, start, span, parts)
        except _Widen as widen:
            old = columns[widen.index]
            _learn_thousands(sniff, widen.value)
            columns[widen.index] = _widened(old, widen.value, sniff.settings)
            state.set_progress(start, tr("Reading {file} again: column '{column}' holds {value!r}",
                                         file=path.name, column=old.name, value=widen.value))
            continue
        except _Retry:
            continue
        except UnicodeDecodeError as exc:
            _switch_encoding(path, sniff, _bad_byte(exc, exc.encoding))
            continue
        if parts.rows == 0:
            raise DataError(
                tr("the file has a header line but no data rows.")
                if sniff.settings.header
                else tr("the file has no data rows."),
                file=path,
                hint=tr("Export again including the data, or check that you picked the right file."),
            )
        return parts.result()
    raise DataError(
        tr("the column types could not be settled."), file=path, hint=tr("Check the file in the preview.")
    )


def _switch_encoding(path: Path, sniff: _Sniff, problem: str) -> None:
    """Fall back once from an automatic guess that the rest of the file contradicts.

    Not when other lines of the file are valid UTF-8: then the file mixes encodings and any one
    of them reads some lines wrong.
    """
    settings = sniff.settings
    fallback = {"utf-8": "cp1252", "cp1252": "latin-1"}.get(settings.encoding or "")
    if sniff.auto_encoding and fallback:
        if settings.encoding == "utf-8":
            _check_mixed_utf8(path, sniff.line_end)
        sniff.settings = FileSettings(**{**vars(settings), "encoding": fallback})
        sniff.arrow_encoding = _arrow_encoding(fallback)
        return
    error = _undecodable(path, settings.encoding or "utf-8", sniff.line_end)
    if error.row is None:
        error = DataError(
            tr("the file cannot be read as {encoding}: {problem}.", encoding=settings.encoding, problem=problem),
            file=path,
            hint=tr("Choose the right encoding in the preview (e.g. utf-8, gb18030, utf-16 or cp1252)."),
        )
    raise error


def _stream_csv(
    path: Path, sniff: _Sniff, columns: list[_Column], state: JobState, start: float, span: float, sink: _Sink
) -> None:
    settings = sniff.settings
    file_names = [c.name if c.keep else f"\0skip{i}" for i, c in enumerate(columns)]
    kept = [i for i, c in enumerate(columns) if c.keep]
    formats = sorted({c.time_format for c in columns if c.keep and c.time_format})
    convert = pacsv.ConvertOptions(
        column_types={file_names[i]: _read_type(columns[i]) for i in kept},
        include_columns=[file_names[i] for i in kept],
        null_values=NULL_VALUES,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        decimal_point=settings.decimal,
        timestamp_parsers=[pacsv.ISO8601, *formats] if formats else None,
    )
    parse = pacsv.ParseOptions(
        delimiter=settings.delimiter, quote_char='"', double_quote=True, newlines_in_values=sniff.multiline
    )
    transform = [(pos, i) for pos, i in enumerate(kept) if columns[i].transform]
    # Byte ranges cut at line ends let Arrow parse each range on all cores; that needs a line end
    # to be a line end: not inside quotes, and a single "\n" byte (not so in UTF-16 or UTF-32).
    codec = codecs.lookup(settings.encoding or "utf-8").name
    by_ranges = not sniff.multiline and not codec.startswith(("utf-16", "utf-32"))
    pieces = _byte_ranges if by_ranges else _arrow_stream

    def parts() -> Iterator[tuple[pa.Table, float]]:
        rows_before = 0
        for table, done in pieces(path, sniff, file_names, parse, convert):
            if transform:
                arrays = list(table.columns)
                # line numbers hold where no quoted value spans lines
                first_line = None if sniff.multiline else rows_before + 1 + int(settings.header)
                for pos, i in transform:
                    _check_grouping(path, columns[i].name, arrays[pos], settings, first_line)
                    try:
                        arrays[pos] = _convert_text(arrays[pos], columns[i], settings)
                    except _Widen as widen:
                        raise _Widen(i, widen.value) from None
                table = pa.table(arrays, schema=sink.schema)
            rows_before += table.num_rows
            yield table, done

    try:
        # the worker reads ahead while this thread stores the ranges, reports progress and checks
        # for cancel
        for part, done in _prefetch(parts()):
            state.check_cancelled()
            sink.add(part, done)
            state.set_progress(start + span * min(done, 0.99), tr("Reading {file}: {rows:,} rows", file=path.name, rows=sink.rows))
    except pa.ArrowInvalid as exc:
        raise _csv_problem(path, sniff, columns, exc, state) from None
    except OSError as exc:
        raise DataError(tr("the file could not be read to the end ({error}).", error=exc), file=path) from None


def _prefetch(items: Iterator[_T]) -> Iterator[_T]:
    """``items`` produced one step ahead in a worker thread (Arrow releases the GIL meanwhile).

    An exception in the worker is raised here; leaving early stops the worker after its
    current step.
    """
    slot: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    end = object()

    def put(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                slot.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((end, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            put((None, exc))
        finally:
            items.close()

    worker = threading.Thread(target=produce, name="ingest-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = slot.get()
            if error is not None:
                raise error
            if item is end:
                return
            yield item
    finally:
        stop.set()
        worker.join()


# Encodings in which every ASCII byte stands for itself: an all-ASCII range needs no transcoding.
_ASCII_SUPERSETS = ("cp125", "iso8859", "gb", "big5", "shift_jis", "euc_", "cp93", "cp94", "cp95", "latin")


def _byte_ranges(path: Path, sniff: _Sniff, names: list[str], parse, convert):
    """(table, fraction done) for each BLOCK_SIZE range of the file, cut after a line end.

    Two ranges are parsed at a time, so that Arrow's threads have work while one range finishes.
    On 1 or 2 cores those two ranges are all the parallelism there is: Arrow splitting each range
    over its threads as well only adds hand-offs between threads and memory in flight, which on 2
    busy cores cost 0-25 % of the load time and 15 % of the peak (1M x 30 sensor file).
    """
    size = max(path.stat().st_size, 1)
    codec = codecs.lookup(sniff.settings.encoding or "utf-8").name
    split = pa.cpu_count() > 2
    ascii_fast = sniff.arrow_encoding != "utf8" and codec.startswith(_ASCII_SUPERSETS)

    def parse_range(data: bytes, cut: int, skip: int) -> pa.Table | None:
        # GB18030 or cp1252 files are often ASCII but for their header: skip transcoding there
        encoding = "utf8" if ascii_fast and data.isascii() else sniff.arrow_encoding
        read = pacsv.ReadOptions(column_names=names, skip_rows=skip, encoding=encoding, use_threads=split)
        try:
            return pacsv.read_csv(
                pa.BufferReader(pa.py_buffer(memoryview(data)[:cut])),
                read_options=read,
                parse_options=parse,
                convert_options=convert,
            )
        except pa.ArrowInvalid as exc:
            if str(exc).startswith("Empty CSV file"):
                return None
            raise

    pending: deque = deque()
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest-range") as pool:
        for data, cut, first, done in _line_cut_ranges(path, sniff.line_end):
            skip = 1 if first and sniff.settings.header else 0
            pending.append((pool.submit(parse_range, data, cut, skip), done / size))
            while len(pending) >= 2 or (pending and pending[0][0].done()):
                future, fraction = pending.popleft()
                if (table := future.result()) is not None:
                    yield table, fraction
        while pending:
            future, fraction = pending.popleft()
            if (table := future.result()) is not None:
                yield table, fraction


def _line_cut_ranges(path: Path, line_end: bytes = b"\n") -> Iterator[tuple[bytes, int, bool, int]]:
    """(bytes, length up to the last line end, first range?, end offset) through the file.

    A line longer than MAX_LINE_BYTES or a NUL byte ends the reading with a DataError naming the
    line (the lines before are counted only then).
    """
    # a smaller file in smaller ranges: less memory in flight, and progress still moves
    block = min(BLOCK_SIZE, max(BLOCK_SIZE // 4, path.stat().st_size // 8))
    offset = 0
    want = block
    with open(path, "rb") as handle:
        while True:
            handle.seek(offset)
            data = handle.read(want)
            if not data:
                return
            at_end = len(data) < want
            cut = len(data) if at_end else data.rfind(line_end) + 1
            if cut == 0:  # a line longer than a block: read more at once, up to a bound
                if want > MAX_LINE_BYTES:
                    raise _long_line(path, _lines_before(path, offset, line_end) + 1)
                want *= 2
                continue
            if data.find(b"\0", 0, cut) >= 0:  # no copy of the range for the common case
                _check_nul(path, data[:cut], line_end, _lines_before(path, offset, line_end) + 1)
            want = block
            yield data, cut, offset == 0, offset + cut
            offset += cut
            if at_end:
                return


def _lines_before(path: Path, offset: int, line_end: bytes) -> int:
    """How many line ends the file has before byte ``offset`` (for messages only)."""
    count = 0
    with open(path, "rb") as handle:
        while offset > 0:
            data = handle.read(min(BLOCK_SIZE, offset))
            if not data:
                break
            count += data.count(line_end)
            offset -= len(data)
    return count


def _arrow_stream(path: Path, sniff: _Sniff, names: list[str], parse, convert):
    """(batch as table, fraction done) from Arrow's streaming reader: one thread, any file."""
    read = pacsv.ReadOptions(
        column_names=names,
        # skip_rows counts raw lines; this skips the header as a record (it may hold a line break)
        skip_rows_after_names=1 if sniff.settings.header else 0,
        block_size=BLOCK_SIZE,
        encoding=sniff.arrow_encoding,
    )
    size = max(path.stat().st_size, 1)
    rows = 0
    with pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert) as reader:
        for batch in reader:
            rows += batch.num_rows
            yield pa.Table.from_batches([batch]), rows * sniff.bytes_per_row / size


def _csv_problem(path: Path, sniff: _Sniff, columns: list[_Column], exc: Exception, state: JobState):
    """Turn an Arrow error into a wider column, another try, or a DataError for the user."""
    message = str(exc)
    found = re.search(
        r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to [^:]+: invalid value '(.*)'",
        message,
        re.DOTALL,
    )
    if found:
        return _Widen(int(found.group(1)), found.group(2))
    found = re.search(
        r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to string: invalid UTF8", message
    )
    if found:
        try:
            name = columns[int(found.group(1))].name
            _switch_encoding(path, sniff, tr("column '{column}' holds bytes that are not valid UTF-8", column=name))
        except DataError as error:
            return error
        return _Retry()
    found = re.search(r"Expected (\d+) columns, got (\d+)", message)
    if found:
        expected = int(found.group(1))
        encoding = sniff.settings.encoding or "utf-8"
        with open(path, encoding=encoding, errors="replace", newline="") as handle:
            ragged = _find_ragged_line(handle, sniff.settings.delimiter or ",", expected, state)
        if ragged is not None:
            return _ragged_error(path, *ragged[:2], expected, sniff.settings.delimiter or ",", ragged[2])
        if not sniff.multiline:
            sniff.multiline = True  # a quoted value with a line break beyond the sample
            return _Retry()
    return DataError(tr("the file cannot be parsed: {error}", error=_arrow_message(exc)), file=path)


def _stream_whitespace(
    path: Path, sniff: _Sniff, columns: list[_Column], state: JobState, start: float, span: float, sink: _Sink
) -> None:
    """Whitespace-separated text: pandas' C parser splits the fields (Arrow needs one delimiter)."""
    settings = sniff.settings
    size = max(path.stat().st_size, 1)
    rows = 0
    chunks = pd.read_csv(
        path, sep=r"\s+", header=None, skiprows=1 if settings.header else 0,
        names=[c.name for c in columns], dtype=str, keep_default_na=False, na_filter=False,
        encoding=settings.encoding, engine="c", chunksize=max(int(BLOCK_SIZE / sniff.bytes_per_row), 1000),
    )  # fmt: skip
    try:
        with chunks:
            for chunk in chunks:
                state.check_cancelled()
                arrays = []
                for index, column in enumerate(columns):
                    values = pa.array(chunk.iloc[:, index].to_numpy(dtype=object), pa.string())
                    try:
                        arrays.append(_convert_text(values, column, settings))
                    except _Widen as widen:
                        raise _Widen(index, widen.value) from None
                rows += len(chunk)
                done = min(rows * sniff.bytes_per_row / size, 0.99)
                sink.add(pa.table(arrays, schema=sink.schema), done)
                state.set_progress(start + span * done, tr("Reading {file}: {rows:,} rows", file=path.name, rows=rows))
    except pd.errors.ParserError as exc:
        raise _ragged_from_pandas(path, exc, WHITESPACE) from None


# --------------------------------------------------------------------------- Excel


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _password_protected(path: Path) -> DataError:
    return DataError(
        tr("the workbook is protected with a password (encrypted), so it cannot be read."),
        file=path,
        hint=tr("Open it in Excel with the password and save a copy without one, or export the sheet as CSV."),
    )


def _check_workbook_file(path: Path) -> None:
    """Refuse what is not the workbook its name says, before a reader parses it: other formats,
    encrypted workbooks, zip bombs and XML with a DOCTYPE (entity expansion, external entities)."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    modern = path.suffix.lower() in (".xlsx", ".xlsm")
    if head.startswith(_OLE_MAGIC):
        if _is_encrypted_container(path):
            raise _password_protected(path)
        if modern:
            raise DataError(
                tr("this is an old-format Excel workbook (.xls) with an .xlsx name."),
                file=path,
                hint=tr("Rename it to .xls and open it again."),
            )
        return
    if head.startswith(b"PK\x03\x04"):
        if not modern:
            raise DataError(
                tr("this is an .xlsx workbook with an .xls name."),
                file=path,
                hint=tr("Rename it to .xlsx and open it again."),
            )
        _check_xlsx_archive(path)
        return
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise DataError(
                tr("this is not an Excel workbook: it looks like {what}.", what=tr(_MAGIC_SHORT.get(magic, what))),
                file=path,
                hint=tr("Open the data export itself (CSV, text or Excel)."),
            )
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(b"<") and (b"<html" in start or b"<table" in start or b"<!doctype html" in start):
        raise DataError(
            tr("this is not an Excel workbook but a web page (an HTML table) with an Excel name, as some MES "
               "systems export."),
            file=path,
            hint=tr("Open it in Excel and save it as .xlsx, or export CSV from the system."),
        )
    if start.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in head:
        raise DataError(
            tr("this is an Excel 2003 XML spreadsheet, not a workbook this app reads."),
            file=path,
            hint=tr("Open it in Excel and save it as .xlsx, or export CSV."),
        )
    if head and _decodes(head, "utf-8") and not any(b in head for b in bytes(range(9))):
        raise DataError(
            tr("this is not an Excel workbook but a text file (a CSV or tab-separated export) with an Excel name."),
            file=path,
            hint=tr("Rename it to .csv (or .txt) and open it again."),
        )
    raise DataError(
        tr("this is not an Excel workbook (an .xlsx file is a zip archive, an .xls file an OLE document)."),
        file=path,
        hint=tr("Open the data export itself, or open the file in Excel and save it as .xlsx."),
    )


def _is_encrypted_container(path: Path) -> bool:
    """An OLE document holding the streams Excel writes for a workbook saved with a password."""
    try:
        from xlrd import compdoc

        with open(path, "rb") as handle:  # the directory of an encrypted container sits near its start
            doc = compdoc.CompDoc(handle.read(64 << 20), logfile=io.StringIO())
        names = {entry.name for entry in doc.dirlist}
    except Exception:  # noqa: BLE001 - a damaged container: xlrd reports it when opening
        return False
    return "EncryptedPackage" in names or "EncryptionInfo" in names


def _check_xlsx_archive(path: Path) -> None:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_XLSX_MEMBERS:
                raise DataError(
                    tr("the workbook consists of {n:,} parts; Excel writes a few hundred at most, "
                       "so this is a damaged or crafted file.", n=len(members)),
                    file=path,
                    hint=tr("Ask for the data as a fresh export from Excel or the system, or as CSV."),
                )
            names = {m.filename for m in members}
            if "xl/workbook.xml" not in names:
                raise DataError(
                    tr("this is not an Excel workbook: it is a zip archive without a workbook inside."),
                    file=path,
                    hint=tr("Unpack it and open the data file it holds, or choose the right file."),
                )
            inflated = sum(m.file_size for m in members)
            if inflated > MAX_XLSX_INFLATED:
                raise DataError(
                    tr("the workbook would inflate to {size:,.0f} MiB when unpacked; this app reads workbooks up "
                       "to {limit} MiB unpacked (a sheet of about 10 million cells).",
                       size=inflated / (1 << 20), limit=MAX_XLSX_INFLATED >> 20),
                    file=path,
                    hint=tr("Export the data as CSV instead (any size), or split the workbook."),
                )
            for member in members:
                ratio = member.file_size / max(member.compress_size, 1)
                if member.file_size > (16 << 20) and ratio > MAX_XLSX_RATIO:
                    raise DataError(
                        tr("the workbook part {part} would inflate {ratio:,.0f} times, to {size:,.0f} MiB: real "
                           "sheets pack 5 to 20 times, so this is a zip bomb or a damaged file.",
                           part=member.filename, ratio=ratio, size=member.file_size / (1 << 20)),
                        file=path,
                        hint=tr("Do not open it; ask for the data as a fresh export."),
                    )
            for member in members:
                if member.filename.endswith((".xml", ".rels", ".vml")):
                    _check_xml_head(path, archive, member.filename)
    except zipfile.BadZipFile:
        raise DataError(
            tr("the workbook is damaged: it is not a complete .xlsx file (cut off while copying?)."),
            file=path,
            hint=tr("Copy or export the workbook again."),
        ) from None
    except (OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise DataError(
            tr("the workbook is damaged: it cannot be unpacked ({error}).",
               error=exc.strerror if isinstance(exc, OSError) else tr("bad archive")),
            file=path,
            hint=tr("Copy or export the workbook again."),
        ) from None


_XML_ROOT_RE = re.compile(rb"<[A-Za-z_]")
_XML_DANGER_RE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _check_xml_head(path: Path, archive, name: str) -> None:
    """A DOCTYPE or ENTITY declaration has no place in a workbook and is how XML bombs and external
    entities work: refuse it, before any parser expands it. It must come before the root element,
    so the head of each part is enough; Excel writes that root within the first few hundred bytes."""
    with archive.open(name) as member:
        head = member.read(64 << 10)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="replace").encode("utf-8")
    danger = _XML_DANGER_RE.search(head)
    root = _XML_ROOT_RE.search(head)
    if danger and (root is None or danger.start() < root.start()):
        raise DataError(
            tr("the workbook part {part} declares a DOCTYPE (XML entities), which Excel never writes: "
               "such a file can expand to gigabytes or read other files of this PC, so it is not opened.", part=name),
            file=path,
            hint=tr("Ask for the data as a fresh export from Excel or the system, or as CSV."),
        )
    if root is None and len(head) >= (64 << 10):
        raise DataError(
            tr("the workbook part {part} does not start like the XML Excel writes.", part=name),
            file=path,
            hint=tr("Open it in Excel and save it again, or export CSV."),
        )


class _Book:
    """The few things needed from a workbook, for .xlsx/.xlsm (openpyxl) and .xls (xlrd)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.legacy = path.suffix.lower() == ".xls"
        _check_workbook_file(path)
        try:
            if self.legacy:
                import xlrd

                self._book = xlrd.open_workbook(str(path), on_demand=True, logfile=io.StringIO())
                self.sheets = tuple(self._book.sheet_names())
            else:
                import openpyxl

                self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
                self.sheets = tuple(ws.title for ws in self._book.worksheets)
        except ImportError as exc:
            raise DataError(
                tr("reading this kind of workbook needs the '{package}' package, which is not installed.",
                   package=exc.name),
                file=path,
                hint=tr("Save the sheet as .xlsx or CSV, or install the package."),
            ) from None
        except Exception as exc:  # noqa: BLE001 - the readers raise many types for damaged or foreign files
            if "encrypted" in str(exc).lower():
                raise _password_protected(path) from None
            raise DataError(
                tr("the workbook is damaged or not in a form Excel writes, so it cannot be read."),
                file=path,
                hint=tr("Open it in Excel and save it again as .xlsx (without a password), or export CSV."),
            ) from None

    def close(self) -> None:
        if self.legacy:
            self._book.release_resources()
        else:
            self._book.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def row_count(self, sheet: str) -> int:
        if self.legacy:
            return self._book.sheet_by_name(sheet).nrows
        return self._book[sheet].max_row or 0

    def rows(self, sheet: str):
        """Rows as tuples of None, str, int, float, bool, datetime, date or time."""
        if self.legacy:
            import xlrd

            book = self._book
            ws = book.sheet_by_name(sheet)
            for r in range(ws.nrows):
                yield tuple(_xls_value(cell, book.datemode, xlrd) for cell in ws.row(r))
            return
        ws = self._book[sheet]
        ws.reset_dimensions()  # some exporters write a wrong sheet size; read every row there is
        count = 0
        try:
            for row in ws.iter_rows(values_only=True):
                count += 1
                yield row
        except Exception:  # noqa: BLE001 - XML, zip and value errors of a damaged sheet
            raise DataError(
                tr("the workbook is damaged: sheet '{sheet}' cannot be read beyond row {row:,}.", sheet=sheet, row=count),
                file=self.path,
                hint=tr("Open it in Excel and save it again, or export the sheet as CSV."),
            ) from None

    def formula_columns(self, sheet: str, columns: Sequence[int], rows: int = 200) -> set[int]:
        """Which of the given columns (0-based) hold formulas in the first ``rows`` rows."""
        if self.legacy or not columns:
            return set()
        import openpyxl

        found: set[int] = set()
        book = openpyxl.load_workbook(self.path, read_only=True, data_only=False)
        try:
            for row in book[sheet].iter_rows(max_row=rows, values_only=True):
                found.update(
                    i for i in columns if i < len(row) and isinstance(row[i], str) and row[i].startswith("=")
                )
        finally:
            book.close()
        return found


def _xls_value(cell, datemode: int, xlrd):
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    if cell.ctype == xlrd.XL_CELL_DATE:
        return xlrd.xldate.xldate_as_datetime(cell.value, datemode)
    if cell.ctype == xlrd.XL_CELL_NUMBER:
        return int(cell.value) if float(cell.value).is_integer() else cell.value
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    return cell.value


def _non_empty_rows(rows: Iterable[tuple], state: JobState | None = None, on_row=None):
    """Rows with trailing blanks cut, blank rows skipped."""
    for count, row in enumerate(rows):
        if state is not None and count % 5000 == 0:
            state.check_cancelled()
            if on_row is not None:
                on_row(count)
        end = len(row)
        while end and (row[end - 1] is None or (isinstance(row[end - 1], str) and not row[end - 1].strip())):
            end -= 1
        if end:
            yield row[:end]


def _head_rows(book: _Book, sheet: str, count: int = 12) -> list[tuple]:
    rows = []
    for row in _non_empty_rows(book.rows(sheet)):
        rows.append(row)
        if len(rows) >= count:
            break
    return rows


def _looks_like_table(rows: list[tuple]) -> bool:
    """Ten rows or more, or three columns or more: a cover page has a few label/value lines."""
    widths = [sum(v is not None and str(v).strip() != "" for v in row) for row in rows]
    return len(rows) >= 10 or (max(widths, default=0) >= 3 and len(rows) >= 2)


class _CoverPage(DataError):
    def __init__(self, table_sheet: str, message: str, **where) -> None:
        super().__init__(message, **where)
        self.table_sheet = table_sheet


def _check_cover_page(path: Path, book: _Book, sheet: str, head: list[tuple], later: Sequence[str]) -> None:
    """Refuse to take a cover sheet for the data when a later sheet holds a table: naming the sheet
    is the user's decision, and the message says how."""
    if _looks_like_table(head):
        return
    for other in later:
        if _looks_like_table(_head_rows(book, other)):
            raise _CoverPage(
                other,
                tr("the first sheet '{sheet}' looks like a cover page ({n} lines of text, no table); "
                   "the table seems to be on sheet '{other}'.", sheet=sheet, n=len(head), other=other),
                file=path,
                hint=tr("Choose the sheet: --sheet '{other}' on the command line, or the Sheet box of the "
                        "preview in the window.", other=other),
            )


def _choose_sheet(path: Path, book: _Book, sheet: str | int | None, past_cover: bool = False) -> str:
    """The sheet to read; without a choice, the first with data, unless that is a cover page:
    refused (the message names the sheet to choose), or with ``past_cover`` the table's sheet
    (for the preview, which shows the choice before anything is loaded)."""
    if not book.sheets:
        raise DataError(tr("the workbook has no worksheets."), file=path, hint=tr("Choose another file."))
    listed = ", ".join(f"'{s}'" for s in book.sheets)
    if sheet is None:
        for position, name in enumerate(book.sheets):
            head = _head_rows(book, name)
            if head:
                try:
                    _check_cover_page(path, book, name, head, book.sheets[position + 1 :])
                except _CoverPage as cover:
                    if not past_cover:
                        raise
                    return cover.table_sheet
                return name
        raise DataError(
            tr("the workbook has no data: every sheet is empty ({sheets}).", sheets=listed),
            file=path,
            hint=tr("Check that you picked the right file."),
        )
    if isinstance(sheet, str) and sheet in book.sheets:
        chosen = sheet
    elif isinstance(sheet, int) or (isinstance(sheet, str) and sheet.strip().isdigit()):
        index = int(sheet)
        if not 0 <= index < len(book.sheets):
            raise DataError(
                tr("there is no sheet number {index} (the workbook has {n}, counted from 0).",
                   index=index, n=len(book.sheets)),
                file=path,
                hint=tr("Choose one of {sheets}.", sheets=listed),
            )
        chosen = book.sheets[index]
    else:
        raise DataError(tr("there is no sheet '{sheet}'.", sheet=sheet), file=path,
                        hint=tr("Choose one of {sheets}.", sheets=listed))
    if next(_non_empty_rows(book.rows(chosen)), None) is None:
        others = [f"'{s}'" for s in book.sheets if s != chosen]
        raise DataError(
            tr("sheet '{sheet}' is empty.", sheet=chosen),
            file=path,
            hint=tr("Choose another sheet ({sheets}).", sheets=", ".join(others)) if others else tr("Check the workbook."),
        )
    return chosen


def _sniff_excel(path: Path, options: ReadOptions, nrows: int, preview: bool = False) -> _Sniff:
    with _Book(path) as book:
        sheet = _choose_sheet(path, book, options.sheet, past_cover=preview)
        rows = []
        for row in _non_empty_rows(book.rows(sheet)):
            rows.append(row)
            if len(rows) > nrows:
                break
    header, table = _excel_table(path, sheet, rows, options)
    settings = FileSettings(
        path=path,
        kind="excel",
        encoding=None,
        delimiter=None,
        decimal=options.decimal or ".",
        thousands=options.thousands or None,
        header=header,
        sheet=sheet,
        sheets=book.sheets,
    )
    raw_lines = ["\t".join("" if v is None else _cell_text(v) for v in row) for row in rows[:RAW_LINES]]
    return _Sniff(
        settings=settings,
        columns=[_Column(name, "text") for name in table.column_names],
        sample=table,
        raw_lines=raw_lines,
        bytes_per_row=1.0,
        arrow_encoding="",
        multiline=False,
    )


def _read_excel_table(
    path: Path,
    settings: FileSettings,
    options: ReadOptions,
    state: JobState,
    start: float,
    span: float,
    notes: list[str] | None = None,
) -> pa.Table:
    with _Book(path) as book:
        sheet = settings.sheet or book.sheets[0]
        total = max(book.row_count(sheet), 1)

        def on_row(count: int) -> None:
            state.set_progress(
                start + span * min(count / total, 0.99), tr("Reading {file}: {rows:,} rows", file=path.name, rows=count)
            )

        rows = list(_non_empty_rows(book.rows(sheet), state, on_row))
        table = _excel_table(path, sheet, rows, options)[1]
        if notes is not None:
            empty = [i for i, column in enumerate(table.columns) if column.null_count == table.num_rows]
            for index in sorted(book.formula_columns(sheet, empty)):
                notes.append(tr(
                    "{file}: column '{column}' holds formulas whose results were never saved (the workbook was "
                    "written by a program, not by Excel), so it is empty here. Open the workbook in Excel and "
                    "save it to store the results.", file=path.name, column=table.column_names[index],
                ))
    return table


def _excel_table(path: Path, sheet: str, rows: list[tuple], options: ReadOptions) -> tuple[bool, pa.Table]:
    width = max(len(row) for row in rows)
    if width > MAX_COLUMNS:
        from openpyxl.utils import get_column_letter

        raise DataError(
            tr("sheet '{sheet}' is {width:,} columns wide: a cell in column {letter} holds a value, and this app "
               "reads at most {limit:,} columns.", sheet=sheet, width=width, letter=get_column_letter(width),
               limit=MAX_COLUMNS),
            file=path,
            hint=tr("Delete the stray cells right of the table (Ctrl+End in Excel shows the last one), or "
                    "export only the columns you need."),
        )
    first = [*rows[0], *[None] * (width - len(rows[0]))]
    # a number or date cell in the first row means data, whatever its text looks like
    as_header = [v if isinstance(v, str) else (None if v is None else "0") for v in first]
    header = options.header if options.header is not None else _looks_like_header(as_header)
    texts = [None if v is None else _cell_text(v) for v in first]
    names = [name.lstrip("\0") for name in _column_names(path, texts, header)]
    data = rows[1:] if header else rows
    if not data:
        raise DataError(
            tr("sheet '{sheet}' has a header row but no data rows.", sheet=sheet),
            file=path,
            hint=tr("Choose another sheet, or check that you picked the right file."),
        )
    decimal = options.decimal or "."
    thousands = options.thousands or None
    arrays = []
    for index, name in enumerate(names):
        values = [row[index] if index < len(row) else None for row in data]
        arrays.append(_excel_column(name, values, decimal, thousands))
    return bool(header), pa.table(arrays, names=names)


def _cell_text(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _excel_column(name: str, values: list, decimal: str, thousands: str | None) -> pa.Array:
    cleaned = [None if v is None or (isinstance(v, str) and v.strip() in _NULL_WORDS) else v for v in values]
    present = [v for v in cleaned if v is not None]
    if not present:
        return pa.nulls(len(values), pa.float64())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        if len(present) == len(values) and all(isinstance(v, int) and abs(v) < 2**63 for v in present):
            return pa.array(cleaned, pa.int64())
        return pa.array([None if v is None else float(v) for v in cleaned], pa.float64())
    if all(isinstance(v, dt.datetime | dt.date) for v in present):
        stamps = [
            None if v is None else (v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day))
            for v in cleaned
        ]
        return pc.cast(pa.array(stamps, pa.timestamp("us")), pa.timestamp("ns"))
    # text, or a mix: numbers stored as text ('12,5', '007') get the same rules as in a CSV file
    strings = pa.array([None if v is None else _cell_text(v) for v in cleaned], pa.string())
    column = _infer_column(name, pc.utf8_trim_whitespace(strings), decimal, thousands)
    settings = FileSettings(Path(), "excel", None, None, decimal, thousands, True, None, ())
    try:
        return _convert_text(strings, column, settings)
    except _Widen:
        return strings


_NULL_WORDS = frozenset(NULL_VALUES)


# --------------------------------------------------------------------------- several files


def _check_same_columns(names: list[list[str]], paths: list[Path]) -> None:
    reference = names[0]
    problems = []
    first_bad = None
    for columns, path in zip(names[1:], paths[1:], strict=True):
        missing = [c for c in reference if c not in columns]
        extra = [c for c in columns if c not in reference]
        if missing or extra:
            lacks = ", ".join(f"'{c}'" for c in missing)
            more = ", ".join(f"'{c}'" for c in extra)
            if missing and extra:
                problems.append(tr("{file} lacks {missing} and has extra {extra}", file=path.name, missing=lacks,
                                   extra=more))
            elif missing:
                problems.append(tr("{file} lacks {missing}", file=path.name, missing=lacks))
            else:
                problems.append(tr("{file} has extra {extra}", file=path.name, extra=more))
            first_bad = first_bad or path
    if problems:
        raise DataError(
            tr("the files have different columns: {problems} (compared with {first}).",
               problems=tr("; ").join(problems), first=paths[0].name),
            file=first_bad,
            hint=tr("Load files with the same columns together, or rename the columns so that they match."),
        )


def _common_type(types: list[pa.DataType]) -> pa.DataType:
    types = [t for t in types if not pa.types.is_null(t)]
    if all(t == types[0] for t in types):
        return types[0]
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types):
        return pa.float64()
    if all(pa.types.is_timestamp(t) and t.tz is None for t in types):
        return pa.timestamp("ns")
    return pa.string()


def _stack(tables: list[pa.Table], paths: list[Path]) -> pa.Table:
    names = tables[0].column_names
    source = SOURCE_COLUMN
    while source in names:
        source += "_"
    target = {n: _common_type([t.schema.field(n).type for t in tables]) for n in names}
    stacked = []
    for table, path in zip(tables, paths, strict=True):
        table = table.select(names)
        arrays = [
            table.column(n)
            if table.schema.field(n).type == target[n]
            else pc.cast(table.column(n), target[n])
            for n in names
        ]
        label = pc.fill_null(pa.nulls(table.num_rows, pa.string()), path.name)
        stacked.append(pa.table([label, *arrays], names=[source, *names]))
    return pa.concat_tables(stacked)


try:
    from pandas.api.internals import create_dataframe_from_blocks as _from_blocks
except ImportError:  # pandas < 3
    _from_blocks = None

# Arrow types whose values the frame builder copies straight into numpy blocks, as to_pandas would
_DIRECT_TYPES = {pa.float64(): np.dtype("float64"), pa.timestamp("ns"): np.dtype("datetime64[ns]")}


class _Tables:
    """A file's ranges kept as one Arrow table: several files are stacked before conversion."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.parts: list[pa.Table] = []
        self.rows = 0

    def add(self, table: pa.Table, done: float) -> None:
        self.parts.append(table)
        self.rows += table.num_rows

    def result(self) -> pa.Table:
        return pa.concat_tables(self.parts) if self.parts else self.schema.empty_table()


class _FrameBuilder:
    """A file's ranges copied into the DataFrame's own columns as they arrive.

    Float and timestamp columns go into their final 2-D numpy blocks while the worker parses the
    next range, and each range's Arrow memory is reused for the next one. Converting the whole
    Arrow table at the end (``_to_pandas``) holds the file twice and, after the parse, writes
    every value into memory fresh from the system: on 2 busy cores that step took 0.5-1.9 s of a
    2-6 s load of the 1M x 30 sensor file, mostly the kernel's page faults (0.1 s in a warm
    process), and the peak was 2.2x the frame instead of 1.7x. An earlier measurement on 16 idle
    cores found Arrow's multi-threaded conversion at the end a little faster (0.21 s against
    0.25 s for the whole load), a difference nobody sees; on the few busy cores of a factory PC
    this is the faster way. Other columns (text, integers that may turn out to hold gaps, time
    zones) stay in Arrow and are converted at the end, exactly as ``Table.to_pandas`` does it.
    """

    # pandas >= 3 builds a frame from given blocks; older versions take the whole-table route
    available = _from_blocks is not None

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.rows = 0
        self.capacity = 0
        self.placement: dict[np.dtype, list[int]] = {}  # block type -> its columns' positions
        self.slot: dict[int, tuple[np.dtype, int]] = {}  # column position -> (block type, row in it)
        self.other: dict[int, list[pa.Array]] = {}
        for index, column_field in enumerate(schema):
            dtype = _DIRECT_TYPES.get(column_field.type)
            if dtype is None:
                self.other[index] = []
            else:
                self.slot[index] = (dtype, len(self.placement.setdefault(dtype, [])))
                self.placement[dtype].append(index)
        self.blocks: dict[np.dtype, np.ndarray] = {}

    def add(self, table: pa.Table, done: float) -> None:
        """Append one range; ``done`` (the fraction of the file read) sizes the blocks at the start."""
        end = self.rows + table.num_rows
        if end > self.capacity or len(self.blocks) < len(self.placement):
            # the first range tells the row count well (the sample may hold unusual first rows);
            # a little room for longer values further down, and growth if that was not enough
            estimate = int(end / done * 1.05) + 1024 if not self.blocks and done > 0 else 0
            self._resize(max(estimate, end + end // 4))
        for index, column in enumerate(table.columns):
            if index not in self.slot:
                self.other[index].extend(column.chunks)
                continue
            dtype, row = self.slot[index]
            block = self.blocks[dtype]
            at = self.rows
            for chunk in column.chunks:
                # zero-copy view without gaps; with gaps, NaN/NaT fill them, as in to_pandas
                block[row, at : at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
                at += len(chunk)
        self.rows = end

    def _resize(self, capacity: int) -> None:
        for dtype, where in self.placement.items():
            resized = np.empty((len(where), capacity), dtype)
            if dtype in self.blocks:
                resized[:, : self.rows] = self.blocks[dtype][:, : self.rows]
            self.blocks[dtype] = resized
        self.capacity = capacity

    def result(self) -> pd.DataFrame:
        rows = self.rows
        if rows < 0.8 * self.capacity:  # over-estimated: don't hold on to the unused room
            self._resize(rows)
        blocks = [(self.blocks[dtype][:, :rows], np.array(where)) for dtype, where in self.placement.items()]
        numpy_columns: dict[np.dtype, list[tuple[int, np.ndarray]]] = {}
        for index, chunks in self.other.items():
            series = pa.chunked_array(chunks, self.schema.field(index).type).to_pandas()
            if isinstance(series.dtype, np.dtype):
                numpy_columns.setdefault(series.dtype, []).append((index, series.to_numpy()))
            else:
                blocks.append((series.array, np.array([index])))
        self.other.clear()
        # one block per type, as Arrow makes them (hundreds of one-column blocks slow pandas down)
        for where in numpy_columns.values():
            blocks.append((np.vstack([values for _, values in where]), np.array([i for i, _ in where])))
        frame = _from_blocks(blocks, index=pd.RangeIndex(rows), columns=pd.Index(self.schema.names))
        pa.default_memory_pool().release_unused()  # the ranges' parsed copies go back to the system
        return frame


_Sink = _Tables | _FrameBuilder


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    # Several files, Excel sheets, previews: Arrow converts the whole table at once, on all cores.
    frame = table.to_pandas()
    del table
    pa.default_memory_pool().release_unused()  # give the parsed copy back to the system now
    return frame


# --------------------------------------------------------------------------- streaming (scoring)


def iter_chunks(
    path: str | Path,
    options: ReadOptions | FileSettings | None = None,
    chunk_rows: int = 100_000,
    state: JobState | None = None,
) -> Iterator[tuple[pa.Table, float]]:
    """The file's rows as tables of exactly ``chunk_rows`` rows (the last one shorter), each with
    the fraction of the file read so far, without ever holding the whole file.

    Text files come as raw text: one string column per file column (header names as
    :func:`load_files` gives them), cells exactly as written, so nothing is lost when they are
    written out again and no type found in the sample can be contradicted later in the file;
    converting is the caller's business. Excel sheets come typed, as :func:`load_files` reads them
    (a workbook is small: at most 1,048,576 rows). ``state.check_cancelled()`` runs per block.
    """
    yield from open_chunks(path, options, chunk_rows, state)[1]


def open_chunks(
    path: str | Path,
    options: ReadOptions | FileSettings | None = None,
    chunk_rows: int = 100_000,
    state: JobState | None = None,
) -> tuple[FileSettings, Iterator[tuple[pa.Table, float]]]:
    """The detected settings and :func:`iter_chunks`' chunks, sniffing the file only once."""
    path = Path(path)
    if isinstance(options, FileSettings):
        options = options.to_options()
    options = options or ReadOptions()
    sniff = _sniff(path, options)
    return sniff.settings, _chunks(path, sniff, options, max(int(chunk_rows), 1), ensure_state(state))


def _chunks(
    path: Path, sniff: _Sniff, options: ReadOptions, chunk_rows: int, state: JobState
) -> Iterator[tuple[pa.Table, float]]:
    if sniff.settings.kind == "excel":
        table = _read_excel_table(path, sniff.settings, options, state, 0.0, 0.0)
        for start in range(0, table.num_rows, chunk_rows):
            yield table.slice(start, chunk_rows), min((start + chunk_rows) / table.num_rows, 1.0)
        return
    pending: list[pa.Table] = []
    held = 0
    done = 0.0
    for table, done in _raw_text_blocks(path, sniff, state):
        pending.append(table)
        held += table.num_rows
        while held >= chunk_rows:
            merged = pa.concat_tables(pending)
            yield merged.slice(0, chunk_rows).combine_chunks(), done
            rest = merged.slice(chunk_rows)
            pending, held = [rest], rest.num_rows
    if held:
        yield pa.concat_tables(pending).combine_chunks(), 1.0


def _raw_text_blocks(path: Path, sniff: _Sniff, state: JobState) -> Iterator[tuple[pa.Table, float]]:
    columns = sniff.columns
    kept = [i for i, c in enumerate(columns) if c.keep]
    names = [columns[i].name for i in kept]
    settings = sniff.settings
    if settings.delimiter == WHITESPACE:
        size = max(path.stat().st_size, 1)
        reader = pd.read_csv(
            path, sep=r"\s+", header=None, skiprows=1 if settings.header else 0,
            names=[c.name for c in columns], dtype=str, keep_default_na=False, na_filter=False,
            encoding=settings.encoding, engine="c", chunksize=max(int(BLOCK_SIZE / sniff.bytes_per_row), 1000),
        )  # fmt: skip
        rows = 0
        try:
            with reader:
                for chunk in reader:
                    state.check_cancelled()
                    rows += len(chunk)
                    arrays = [pa.array(chunk.iloc[:, i].to_numpy(dtype=object), pa.string()) for i in kept]
                    yield pa.table(arrays, names=names), min(rows * sniff.bytes_per_row / size, 0.99)
        except pd.errors.ParserError as exc:
            raise _ragged_from_pandas(path, exc, WHITESPACE) from None
        return
    file_names = [c.name if c.keep else f"\0skip{i}" for i, c in enumerate(columns)]
    convert = pacsv.ConvertOptions(
        column_types={file_names[i]: pa.string() for i in kept},
        include_columns=[file_names[i] for i in kept],
        strings_can_be_null=False,
    )
    parse = pacsv.ParseOptions(
        delimiter=settings.delimiter, quote_char='"', double_quote=True, newlines_in_values=sniff.multiline
    )
    encoding = codecs.lookup(settings.encoding or "utf-8").name
    by_ranges = not sniff.multiline and not encoding.startswith(("utf-16", "utf-32"))
    pieces = _byte_ranges if by_ranges else _arrow_stream
    try:
        for table, done in pieces(path, sniff, file_names, parse, convert):
            state.check_cancelled()
            yield table.rename_columns(names), done
    except pa.ArrowInvalid as exc:
        problem = _csv_problem(path, sniff, columns, exc, state)
        if isinstance(problem, DataError):
            raise problem from None
        # Rows already went out, so the file cannot be read again with other settings here.
        raise DataError(
            tr("the file changes its form after the first part: a quoted value holds a line break.")
            if sniff.multiline
            else tr("the file changes its form after the first part: it is not valid in its encoding."),
            file=path,
            hint=tr("Choose the encoding in the preview, or load the file with File > Open to check it."),
        ) from None
    except OSError as exc:
        raise DataError(tr("the file could not be read to the end ({error}).", error=exc), file=path) from None
