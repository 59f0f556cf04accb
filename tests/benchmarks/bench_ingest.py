"""Ingest benchmark: the app's load_files against the plain readers, side by side in one run.

    python tests/benchmarks/bench_ingest.py [--rows 1000000] [--rounds 5]

Generates a sensor CSV (timestamp, part id, 28 sensors with a few gaps: 30 columns) in a
temporary folder, plus a GB18030 copy with Chinese column names (and a second one whose ids hold
Chinese characters too), and reads each file with
``mfg_desktop.core.ingest.load_files``, ``pandas.read_csv`` (default C engine),
``pandas.read_csv(engine="pyarrow")`` and ``pyarrow.csv.read_csv``. Prints the time ratio of the
app to the fastest plain reader (target <= 1.5) and the app's peak memory over the resulting
DataFrame's size (target <= 3).

How the comparison is kept fair:

- Every read runs in its own fresh subprocess, so no reader inherits another's warm caches,
  allocator pools or page-table state, and its peak memory (``VmHWM``, reset after start-up) is
  its own, including Arrow's allocations that tracemalloc cannot see. Before the clock starts each
  process reads the file's first 50 lines with the same reader: imports and first-use costs
  (thread pools, lazily imported modules) are charged to nobody, for every reader alike.
- The readers take turns within a round, and the order rotates from round to round, so that each
  reader runs in each position; the file is flushed to disk and read once before the first round,
  so that the first reader does not pay for the page cache or the write-back of the generator.
- The machine may be shared (the team's machine has 2 cores and several jobs): a reader's time is
  the MEDIAN of its rounds, not the best one. The best of a few runs rewarded whichever reader
  happened to run in a quiet moment: in one such run pyarrow's best of 3 was 0.9 s, caught while
  the machine was briefly idle, and its other runs that hour took 2-9 s. The ratio is taken
  between medians; the median of the per-round ratios (app against the fastest plain reader of
  the same round) and the CPU time (user + system, all threads) are printed beside it, with the
  load average, as a check. The memory ratio is the highest of the rounds.
- ``pyarrow.csv.read_csv`` stops at an Arrow table and ``pandas.read_csv``'s C engine leaves the
  timestamps as text, while the app returns a DataFrame with float64, datetime64 and string
  columns: the references do no more work than the app, and are not given any.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READERS = ("app", "pandas_c", "pandas_pyarrow", "pyarrow_csv")
SENSORS = 28
CHINESE_NAMES = ["时间", "工件编号"] + [f"传感器{i + 1:02d}" for i in range(SENSORS)]


def make_data(folder: Path, rows: int) -> tuple[Path, Path, Path]:
    """The UTF-8 sensor file, its GB18030 copy with Chinese column names, and one with Chinese ids.

    The first GB18030 copy is ASCII below its header, like many exports (ingest then skips the
    transcoding of those ranges); in the second, every row holds Chinese characters, so every
    byte must go through the GB18030 decoder: the worst case for any reader.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(20261128)
    columns = {
        "timestamp": pa.array(
            np.datetime64("2026-01-01T00:00:00") + np.arange(rows).astype("timedelta64[s]")
        ),
        "part_id": pa.array(np.char.add("P", np.char.zfill(rng.integers(0, 10**7, rows).astype(str), 7))),
    }
    for i in range(SENSORS):
        values = np.round(rng.normal(50 + i, 5 + i / 4, rows), 3)
        mask = rng.random(rows) < 0.002 if i % 7 == 3 else None  # some sensors drop out now and then
        columns[f"sensor_{i + 1:02d}"] = pa.array(values, mask=mask)
    utf8 = folder / "sensors.csv"
    pacsv.write_csv(pa.table(columns), utf8, pacsv.WriteOptions(quoting_style="needed"))
    gb = folder / "sensors_gb18030.csv"
    with open(utf8, "rb") as src, open(gb, "wb") as dst:
        src.readline()  # the body is ASCII, the same bytes in GB18030; only the header changes
        dst.write((",".join(CHINESE_NAMES) + "\n").encode("gb18030"))
        while chunk := src.read(16 << 20):
            dst.write(chunk)
    gb_ids = folder / "sensors_gb18030_ids.csv"
    part = ',"工件P'.encode("gb18030")  # the (quoted) part ids are the only fields starting with P
    with open(gb, "rb") as src, open(gb_ids, "wb") as dst:
        dst.write(src.readline())
        while lines := src.readlines(16 << 20):
            dst.write(b"".join(lines).replace(b',"P', part))
    return utf8, gb, gb_ids


def _status_mib(field: str) -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # no /proc: the peak so far


def _reset_peak() -> bool:
    """Start the peak (VmHWM) afresh after the imports, whose own transient peak would hide the read's."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _peak_mib(reset: bool) -> float:
    if reset:
        return _status_mib("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _read(reader: str, path: str, encoding: str):
    """(result, detected encoding) of one reader."""
    import pandas as pd
    import pyarrow.csv as pacsv

    from mfg_desktop.core.ingest import detect_settings, load_files

    if reader == "app":
        loaded = load_files(path)
        return loaded.frame, loaded.files[0].encoding
    if reader == "app_detect":  # the detection alone, part of "app"
        settings = detect_settings(path)
        return pd.DataFrame(), settings.encoding
    if reader == "pandas_c":
        return pd.read_csv(path, encoding=encoding), None
    if reader == "pandas_pyarrow":
        return pd.read_csv(path, encoding=encoding, engine="pyarrow"), None
    if reader == "pyarrow_csv":
        return pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding=encoding)), None
    raise SystemExit(f"unknown reader {reader}")


def worker(reader: str, path: str, encoding: str) -> dict:
    """One read in this (fresh) process; peak memory counts from just before the read."""
    sys.path.insert(0, str(ROOT))
    import pyarrow as pa

    # A first read of the file's first lines loads the code and caches every reader touches
    # lazily: what is measured below is the cost of this file, not of the first use of a library.
    with open(path, "rb") as src, tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as tiny:
        for _line, data in zip(range(50), src, strict=False):
            tiny.write(data)
    _read(reader, tiny.name, encoding)
    Path(tiny.name).unlink()
    reset = _reset_peak()
    baseline = _status_mib("VmRSS")
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result, detected = _read(reader, path, encoding)
    seconds = time.perf_counter() - start
    used = resource.getrusage(resource.RUSAGE_SELF)
    peak = _peak_mib(reset)
    if isinstance(result, pa.Table):
        size = result.nbytes / 2**20
        dtypes = {str(t) for t in result.schema.types}
    else:
        size = result.memory_usage(deep=True).sum() / 2**20
        dtypes = {str(t) for t in result.dtypes}
    return {
        "reader": reader,
        "seconds": seconds,
        "cpu_seconds": used.ru_utime - cpu.ru_utime + used.ru_stime - cpu.ru_stime,
        "baseline_mib": baseline,
        "peak_mib": peak,
        "result_mib": size,
        "shape": list(result.shape),
        "dtypes": sorted(dtypes),
        "encoding": detected,
    }


def run_worker(reader: str, path: Path, encoding: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", reader, str(path), encoding],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{reader} failed on {path.name}:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_file(path: Path, encoding: str, rounds: int) -> dict[str, list[dict]]:
    """Every reader's runs, ``rounds`` each; the order rotates so each reader runs in each place."""
    with open(path, "rb") as src:  # into the page cache before the first round, for all alike
        while src.read(16 << 20):
            pass
    runs: dict[str, list[dict]] = {reader: [] for reader in READERS}
    for round_ in range(rounds):
        shift = round_ % len(READERS)
        for reader in READERS[shift:] + READERS[:shift]:
            runs[reader].append(run_worker(reader, path, encoding))
    return runs


def _load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average unknown"


def report(title: str, path: Path, runs: dict[str, list[dict]], load_before: str) -> tuple[float, float]:
    rounds = len(runs["app"])
    print(f"\n{title}: {path.name}, {path.stat().st_size / 2**20:.0f} MiB, {rounds} rounds")
    print(f"  {load_before} before, {_load()} after")
    print(
        f"  {'reader':16} {'median s':>8} {'best s':>7} {'cpu s':>6} {'peak-base MiB':>14} {'result MiB':>11}"
        "  shape, dtypes"
    )
    median = {reader: statistics.median(r["seconds"] for r in rs) for reader, rs in runs.items()}
    for reader in READERS:
        rs = runs[reader]
        last = rs[-1]
        print(
            f"  {reader:16} {median[reader]:8.2f} {min(r['seconds'] for r in rs):7.2f} "
            f"{statistics.median(r['cpu_seconds'] for r in rs):6.2f} "
            f"{statistics.median(r['peak_mib'] - r['baseline_mib'] for r in rs):14.0f} "
            f"{last['result_mib']:11.0f}  {tuple(last['shape'])}, {', '.join(last['dtypes'])}"
        )
    plain = [reader for reader in READERS if reader != "app"]
    fastest = min(plain, key=lambda reader: median[reader])
    ratio = median["app"] / median[fastest]
    per_round = [
        runs["app"][i]["seconds"] / min(runs[reader][i]["seconds"] for reader in plain) for i in range(rounds)
    ]
    app = runs["app"]
    memory = max((r["peak_mib"] - r["baseline_mib"]) / r["result_mib"] for r in app)  # the worst round
    detect = run_worker("app_detect", path, "")["seconds"]
    print(f"  app detected encoding: {app[-1]['encoding']} (detection alone: {detect:.3f} s)")
    print(f"  per-round app / fastest plain reader: {' '.join(f'{x:.2f}' for x in per_round)}")
    print(
        f"  time ratio app / fastest ({fastest}), medians: {ratio:.2f}   (target <= 1.5; "
        f"median of the per-round ratios {statistics.median(per_round):.2f})"
    )
    print(
        f"  app peak memory / DataFrame, highest of the rounds: {memory:.2f}x   (target <= 3; peak RSS "
        f"{app[-1]['peak_mib']:.0f} MiB incl. {app[-1]['baseline_mib']:.0f} MiB of interpreter and libraries)"
    )
    return ratio, memory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5, help="runs per reader; the median counts")
    parser.add_argument("--worker", nargs=3, metavar=("READER", "FILE", "ENCODING"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        start = time.perf_counter()
        utf8, gb, gb_ids = make_data(Path(tmp), args.rows)
        os.sync()  # the generator's write-back must not fall on the first reads
        print(f"generated {args.rows:,} rows x {SENSORS + 2} columns in {time.perf_counter() - start:.1f} s")
        print(f"{os.cpu_count()} cores, {_load()}")
        verdicts = []
        files = (
            ("UTF-8", utf8, "utf-8"),
            ("GB18030, Chinese names", gb, "gb18030"),
            ("GB18030, Chinese names and ids", gb_ids, "gb18030"),
        )
        for title, path, encoding in files:
            load = _load()
            ratio, memory = report(title, path, bench_file(path, encoding, max(args.rounds, 1)), load)
            verdicts.append(ratio <= 1.5 and memory <= 3.0)
        print("\ntargets met" if all(verdicts) else "\ntargets NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
