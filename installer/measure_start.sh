#!/usr/bin/env bash
# Start-to-window time of the frozen app beside the same app run from source, interleaved.
#
#   installer/measure_start.sh [RUNS] [FROZEN_EXE]     (default: 5 runs, dist/mfg-desktop/mfg-desktop)
#
# Each run is a full `--self-test` (offscreen without a display), whose line says how long after
# the process started the window first painted; TensorFlow is not loaded by then (the self-test
# fails otherwise). The frozen run uses a clean environment and cwd / like a user's desktop would.
# MFG_COLD=1: before each frozen run, drop the bundle's files from the page cache (as after a
# reboot; the system's own libraries stay cached), to see the first start of the day.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-5}
FROZEN=$(realpath "${2:-dist/mfg-desktop/mfg-desktop}")
PYTHON=${PYTHON:-python3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

shown() { grep -o 'window shown [0-9.]* s' | grep -o '[0-9.]*' || echo fail; }
frozen=()
source=()
evict() {  # POSIX_FADV_DONTNEED on every file of the bundle: only its clean cached pages go
  "$PYTHON" - "$(dirname "$FROZEN")" <<'PY'
import os, sys
for folder, _, files in os.walk(sys.argv[1]):
    for name in files:
        path = os.path.join(folder, name)
        if os.path.isfile(path) and not os.path.islink(path):
            fd = os.open(path, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
PY
}
for i in $(seq "$RUNS"); do
  if [ "${MFG_COLD:-0}" = 1 ]; then evict; fi
  f=$(cd / && env -i PATH=/usr/bin:/bin HOME="$TMP" "$FROZEN" --self-test 2>/dev/null | shown)
  s=$(cd "$ROOT" && "$PYTHON" -m mfg_desktop --self-test 2>/dev/null | shown)
  frozen+=("$f")
  source+=("$s")
  echo "run $i: frozen $f s, source $s s (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo "median start-to-window over $RUNS runs: frozen $(median "${frozen[@]}") s, from source $(median "${source[@]}") s"
