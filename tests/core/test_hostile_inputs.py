"""Every file of the hostile corpus (tests/data/hostile/make_corpus.py) previews, loads and
profiles correctly or ends in a DataError saying what is wrong: no traceback, no hang, bounded
memory.

Each file runs in its own child process (forked from a server that imported pandas, pyarrow and
the core once), with its address space capped, so that a hang or a blow-up fails its entry
instead of the suite. Peak memory is the child's peak resident size, libraries included.
"""

from __future__ import annotations

import importlib.util
import math
import multiprocessing
import os
import resource
import time
import traceback
from collections import Counter
from pathlib import Path

import pytest

CORPUS_SCRIPT = Path(__file__).resolve().parents[1] / "data" / "hostile" / "make_corpus.py"
SECONDS_PER_FILE = 30  # the slowest entry takes about 3 s on 2 busy cores
PEAK_RSS_BOUND = 1 << 30  # what one hostile file may cost, the ~250 MB of libraries included
ADDRESS_SPACE_MARGIN = 3 << 30  # beyond the server's own: a runaway fails with MemoryError here
PARALLEL = 2


def _load_corpus_module():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _probe(path: str, entry: dict, conn) -> None:
    """Child: load and profile one file; send what happened, the time and the peak memory."""
    from mfg_desktop.core.errors import MfgError
    from mfg_desktop.core.ingest import ReadOptions, load_files, preview
    from mfg_desktop.core.profile import profile_frame

    if entry.get("as_user") == "nobody" and os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    with open("/proc/self/statm") as handle:
        address_space = int(handle.read().split()[0]) * resource.getpagesize()
    limit = address_space + ADDRESS_SPACE_MARGIN
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    started = time.perf_counter()
    result: dict = {}
    try:
        try:  # the window's preview first: it may refuse too, but never otherwise
            preview(path, ReadOptions(sheet=entry.get("sheet")))
        except MfgError:
            pass
        loaded = load_files(path, ReadOptions(sheet=entry.get("sheet")))
        profile = profile_frame(loaded.frame)
        frame = loaded.frame
        values = {}
        for name in entry.get("values", {}):
            if name in frame.columns:
                values[name] = [None if isinstance(v, float) and math.isnan(v) else v
                                for v in frame[name].head(len(entry["values"][name])).tolist()]
        result = {
            "outcome": "loaded", "rows": len(frame), "columns": frame.shape[1],
            "names": [str(c) for c in frame.columns], "values": values, "load_notes": list(loaded.notes),
            "profile_warnings": [w for c in profile.columns for w in c.warnings] + list(profile.warnings),
        }
    except MfgError as exc:
        result = {"outcome": "message", "text": str(exc)}
    except BaseException:  # noqa: BLE001 - what the test is looking for
        result = {"outcome": "traceback", "text": traceback.format_exc()}
    result["seconds"] = time.perf_counter() - started
    result["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    conn.send(result)
    conn.close()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    os.chmod(folder, 0o755)  # the unreadable entry is tried as 'nobody': the folder must let it in
    entries = _load_corpus_module().make_corpus(folder)
    yield folder, entries
    (folder / "unreadable.csv").chmod(0o644)


def _run_all(folder: Path, entries: list[dict]) -> dict[str, dict]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["mfg_desktop.core.ingest", "mfg_desktop.core.profile", "openpyxl", "xlrd"])
    results: dict[str, dict] = {}
    queue = list(entries)
    running: list[tuple[dict, object, object, float]] = []
    while queue or running:
        while queue and len(running) < PARALLEL:
            entry = queue.pop(0)
            receive, send = context.Pipe(duplex=False)
            child = context.Process(target=_probe, args=(str(folder / entry["file"]), entry, send))
            child.start()
            send.close()
            running.append((entry, child, receive, time.monotonic()))
        for item in list(running):
            entry, child, receive, started = item
            if receive.poll(0.02):
                try:
                    results[entry["file"]] = receive.recv()
                except EOFError:
                    results[entry["file"]] = {"outcome": "crashed", "text": f"exit code {child.exitcode}"}
                child.join(5)
                running.remove(item)
            elif not child.is_alive():
                results[entry["file"]] = {"outcome": "crashed", "text": f"exit code {child.exitcode}"}
                running.remove(item)
            elif time.monotonic() - started > SECONDS_PER_FILE:
                child.kill()
                child.join()
                results[entry["file"]] = {"outcome": "hang", "text": f"no answer in {SECONDS_PER_FILE} s"}
                running.remove(item)
    return results


def _problems(entry: dict, result: dict) -> list[str]:
    """What is wrong with one outcome (empty when it is as the corpus entry says)."""
    if result["outcome"] != entry["expect"]:
        return [f"expected {entry['expect']}, got {result['outcome']}: {result.get('text', '')[:2000]}"]
    if result.get("peak_rss", 0) > PEAK_RSS_BOUND:
        return [f"peak memory {result['peak_rss'] / (1 << 20):.0f} MiB is above the bound"]
    problems = []
    if entry["expect"] == "message":
        text = result["text"]
        problems += [f"message lacks {w!r}: {text}" for w in entry["says"] if w.lower() not in text.lower()]
        for internal in ("np.int64", "np.float64", "straddl", "Traceback", "ArrowInvalid", "Error:"):
            if internal in text:
                problems.append(f"message shows parser internals ({internal!r}): {text}")
        return problems
    for key in ("rows", "columns"):
        if key in entry and entry[key] != result[key]:
            problems.append(f"{key}: expected {entry[key]}, got {result[key]}")
    for name in entry.get("names", []):
        if name not in result["names"]:
            problems.append(f"column {name!r} missing from {result['names'][:10]}")
    for name, expected in entry.get("values", {}).items():
        got = result["values"].get(name)
        if got != expected:
            problems.append(f"column {name!r}: expected {expected}, got {got}")
    for key in ("load_notes", "profile_warnings"):
        text = " ".join(result[key]).lower()
        problems += [f"{key} lack {w!r}: {result[key]}" for w in entry.get(key, []) if w.lower() not in text]
    return problems


def test_hostile_corpus(corpus, capsys):
    folder, entries = corpus
    assert len(entries) >= 50
    results = _run_all(folder, entries)
    failures = {e["file"]: p for e in entries if (p := _problems(e, results[e["file"]]))}

    by_class: dict[str, Counter] = {}
    for e in entries:
        by_class.setdefault(e["class"], Counter())[results[e["file"]]["outcome"]] += 1
    outcomes = Counter(r["outcome"] for r in results.values())
    peak = max(results.values(), key=lambda r: r.get("peak_rss", 0))
    slowest = max(results.values(), key=lambda r: r.get("seconds", 0))
    lines = [(f"hostile corpus: {len(entries)} files; {outcomes['message']} clean messages, {outcomes['loaded']} "
              f"loaded, {outcomes['traceback']} tracebacks, {outcomes['hang']} hangs, {outcomes['crashed']} crashes")]
    for klass, counts in by_class.items():
        lines.append(f"  {klass:<12} {sum(counts.values()):>3} files: {counts['message']:>2} message, "
                     f"{counts['loaded']:>2} loaded")
    lines.append(f"  peak memory per file: max {peak.get('peak_rss', 0) / (1 << 20):.0f} MiB "
                 f"(bound {PEAK_RSS_BOUND >> 20} MiB); slowest file {slowest.get('seconds', 0):.1f} s")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert not failures, "\n".join(f"{name}: {'; '.join(p)}" for name, p in failures.items())
    assert outcomes["traceback"] == outcomes["hang"] == outcomes["crashed"] == 0


def test_the_preview_of_a_workbook_with_a_cover_sheet_shows_the_table_sheet(tmp_path):
    """The window's preview has a Sheet box to change the choice, so it goes past the cover page
    (and says so in the detected sheet); loading without a sheet refuses, naming the sheet."""
    from mfg_desktop.core.errors import DataError
    from mfg_desktop.core.ingest import load_files, preview

    _load_corpus_module().make_corpus(tmp_path, only=["cover_page.xlsx"])
    shown = preview(tmp_path / "cover_page.xlsx")
    assert shown.settings.sheet == "Measurements" and shown.settings.sheets == ("Cover", "Measurements")
    assert list(shown.frame.columns) == ["part_id", "temp_c", "pressure_bar", "defect"]
    with pytest.raises(DataError, match="--sheet 'Measurements'"):
        load_files(tmp_path / "cover_page.xlsx")
    assert len(load_files(tmp_path / "cover_page.xlsx", shown.settings.to_options()).frame) == 20


def test_scoring_rejects_a_number_whose_thousands_separator_cannot_be_one():
    """Scoring streams raw text and parses each chunk with the file's marks: '42,8' among '1,234.5'
    becomes a rejected row (reported with its reason), never the number 428."""
    import numpy as np
    import pyarrow as pa

    from mfg_desktop.core.score import _parse_numbers

    values, wrong = _parse_numbers(pa.array(["1,234.5", "42,8", "17.25", None, "2,001"]), ".", ",")
    np.testing.assert_array_equal(wrong, [False, True, False, False, False])
    np.testing.assert_array_equal(values, [1234.5, np.nan, 17.25, np.nan, 2001.0])
    values, wrong = _parse_numbers(pa.array(["1.234,5", "3.5", "980,25"]), ",", ".")
    np.testing.assert_array_equal(wrong, [False, True, False])
    np.testing.assert_array_equal(values, [1234.5, np.nan, 980.25])
