#!/usr/bin/env bash
# Install the built .deb on this machine, run the installed app's --self-test the way a user's PC
# would (clean environment, working directory /, no network interfaces), remove the package and
# check that nothing of it is left. Exits non-zero on any failure. Needs root (dpkg, unshare -n).
#
#   installer/test_deb.sh [dist/mfg-desktop_<version>_amd64.deb]
#
# The self-test runs under strace, which proves two things: no file of this checkout or of this
# machine's Python is opened (only the bundle's own), and no internet socket (AF_INET, AF_INET6,
# AF_PACKET) is created by any code path of the app, native libraries included.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export DEBIAN_FRONTEND=noninteractive

fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root: dpkg -i and unshare -n need it"
DEB=${1:-$(ls -t dist/mfg-desktop_*_amd64.deb 2>/dev/null | head -1)}
[ -n "$DEB" ] && [ -f "$DEB" ] || fail "no dist/mfg-desktop_*_amd64.deb: run installer/build_linux.sh first"
DEB=$(realpath "$DEB")
PY_PREFIX=$(python3 -c 'import sys; print(sys.base_prefix)' 2>/dev/null || echo /nonexistent)

WORK=$(mktemp -d /tmp/mfg-desktop-deb-test.XXXXXX)
cleanup() {
  if dpkg -s mfg-desktop >/dev/null 2>&1; then dpkg --purge mfg-desktop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The package's dependencies this machine lacks, and the test's own tools
need=""
for pkg in $(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//') strace util-linux; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
if [ -n "$need" ]; then
  echo "== apt-get install$need"
  apt-get update -qq && apt-get install -y -qq $need >/dev/null
fi
if dpkg -s mfg-desktop >/dev/null 2>&1; then dpkg --purge mfg-desktop >/dev/null; fi

echo "== dpkg -i $(basename "$DEB")"
start=$SECONDS
dpkg -i "$DEB" >/dev/null
echo "   installed in $((SECONDS - start)) s: $(du -sh /opt/mfg-desktop | cut -f1) in /opt/mfg-desktop"
[ -x /opt/mfg-desktop/mfg-desktop ] || fail "/opt/mfg-desktop/mfg-desktop missing"
[ "$(readlink /usr/bin/mfg-desktop)" = /opt/mfg-desktop/mfg-desktop ] || fail "/usr/bin/mfg-desktop is not the link"
DESKTOP=/usr/share/applications/mfg-desktop.desktop
[ -f "$DESKTOP" ] || fail "$DESKTOP missing"
[ -f /usr/share/icons/hicolor/scalable/apps/mfg-desktop.svg ] || fail "icon missing"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$DESKTOP" || fail "invalid $DESKTOP"; fi
if command -v update-desktop-database >/dev/null; then  # postinst ran it: the associations are known
  grep -q '^application/x-mfgmodel=.*mfg-desktop.desktop' /usr/share/applications/mimeinfo.cache \
    || fail "mimeinfo.cache does not associate application/x-mfgmodel with mfg-desktop"
  grep -q '^text/csv=.*mfg-desktop.desktop' /usr/share/applications/mimeinfo.cache \
    || fail "mimeinfo.cache does not associate text/csv with mfg-desktop"
fi
if command -v update-mime-database >/dev/null; then
  [ -f /usr/share/mime/application/x-mfgmodel.xml ] || fail "application/x-mfgmodel is not in the MIME database"
  grep -q '\*\.mfgmodel' /usr/share/mime/globs2 || fail "*.mfgmodel glob is not in the MIME database"
fi

# As an ordinary user (nobody): every file of the package must be readable by everyone.
echo "== mfg-desktop --self-test (user nobody, env -i, cwd /, unshare -n, under strace)"
chmod 755 "$WORK"
mkdir "$WORK/home" "$WORK/trace.d"
chown nobody:nogroup "$WORK/home" "$WORK/trace.d"
trace="$WORK/trace.d/trace"
start=$SECONDS
if ! (cd / && env -i PATH=/usr/bin:/bin HOME="$WORK/home" \
        unshare -n setpriv --reuid=nobody --regid=nogroup --clear-groups \
        strace -f -qq -o "$trace" -e trace=open,openat,execve,socket \
        mfg-desktop --self-test) > "$WORK/out" 2> "$WORK/err"; then
  tail -20 "$WORK/err" >&2
  fail "the installed app's --self-test failed"
fi
echo "   ran in $((SECONDS - start)) s (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
grep -q '^self-test passed' "$WORK/out" || fail "no 'self-test passed' line: $(cat "$WORK/out")"
echo "   $(grep '^self-test passed' "$WORK/out")"

# Every file the app tried to open or run: the bundle, system libraries, fonts, /proc, temp files.
# Nothing of the checkout, of this machine's Python or of any site-packages may be among them.
grep -E '(open|openat|execve)\(' "$trace" | grep -o '"[^"]*"' | tr -d '"' | sort -u > "$WORK/paths"
[ "$(wc -l < "$WORK/paths")" -gt 100 ] || fail "strace recorded too few file opens; the trace is broken"
grep -q '^/opt/mfg-desktop/_internal/' "$WORK/paths" || fail "the trace shows no file of the bundle"
if grep -E "^($ROOT|$PY_PREFIX)(/|$)|site-packages|dist-packages" "$WORK/paths" > "$WORK/foreign"; then
  head -5 "$WORK/foreign" >&2
  fail "the installed app opened files outside its bundle (checkout or this machine's Python)"
fi
echo "   opened $(wc -l < "$WORK/paths") distinct paths; none in $ROOT, $PY_PREFIX or any site-packages"
if grep -E 'socket\((AF_INET|AF_INET6|AF_PACKET),' "$trace" > "$WORK/sockets"; then
  head -5 "$WORK/sockets" >&2
  fail "the app created an internet socket"
fi
echo "   created $(grep -c 'socket(' "$trace" || true) sockets, none AF_INET/AF_INET6/AF_PACKET"

echo "== MFG_LANG=zh_CN mfg-desktop profile (the bundle carries the Chinese catalog and Qt's own)"
find /opt/mfg-desktop -name qtbase_zh_CN.qm | grep -q . || fail "the bundle lacks Qt's qtbase_zh_CN.qm"
MFG_LANG=zh_CN /opt/mfg-desktop/mfg-desktop profile /opt/mfg-desktop/_internal/mfg_desktop/resources/sample/line_sensors.csv \
  > "$WORK/zh" 2>&1 || fail "the Chinese profile failed: $(tail -3 "$WORK/zh")"
grep -q '行数' "$WORK/zh" || fail "MFG_LANG=zh_CN printed no Chinese: $(head -3 "$WORK/zh")"
echo "   $(head -2 "$WORK/zh" | tail -1)"

echo "== dpkg --purge mfg-desktop"
dpkg --purge mfg-desktop >/dev/null
for path in /opt/mfg-desktop /usr/bin/mfg-desktop "$DESKTOP" /usr/share/icons/hicolor/scalable/apps/mfg-desktop.svg \
            /usr/share/mime/packages/mfg-desktop.xml /usr/share/mime/application/x-mfgmodel.xml; do
  if [ -e "$path" ] || [ -L "$path" ]; then fail "$path is still there after dpkg --purge"; fi
done
if [ -f /usr/share/applications/mimeinfo.cache ] && grep -q 'mfg-desktop.desktop' /usr/share/applications/mimeinfo.cache; then
  fail "mimeinfo.cache still names mfg-desktop.desktop after removal"
fi
echo "PASS: installed, self-tested offline from a clean environment, removed without a trace"
