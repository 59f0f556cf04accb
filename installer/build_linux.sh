#!/usr/bin/env bash
# Build the self-contained app and its Debian package from this checkout:
#
#   installer/build_linux.sh      ->  dist/mfg-desktop/                (the PyInstaller onedir bundle)
#                                     dist/mfg-desktop_<version>_amd64.deb
#
# Non-interactive (CI can run it as root): the Debian tools it needs are installed with apt-get
# when missing, and the Python build requirements with pip when they do not import.
# Work files go to build/, results to dist/. MFG_DEB_COMPRESSION picks dpkg-deb's compressor
# (default zstd; gzip and xz also work, xz takes many minutes on 2 GB). MFG_REUSE_BUNDLE=1 packs
# the bundle already in dist/ again instead of rebuilding it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
export DEBIAN_FRONTEND=noninteractive

step_start=0
step() { step_start=$SECONDS; echo "== $*"; }
step_done() { echo "   $1 took $((SECONDS - step_start)) s (load average: $(cut -d' ' -f1-3 /proc/loadavg))"; }

need=""
# binutils: PyInstaller reads shared libraries with objdump, and we strip; patchelf: search paths
for pkg in binutils patchelf; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
if [ -n "$need" ]; then
  apt-get update -qq && apt-get install -y -qq $need >/dev/null
fi

if ! "$PYTHON" -c "import PyInstaller, tensorflow, keras, PySide6, pyqtgraph, pandas, pyarrow, sklearn, openpyxl, xlrd, charset_normalizer, h5py" 2>/dev/null; then
  step "pip install '.[installer]'"
  "$PYTHON" -m pip install -q ".[installer]"
  step_done "pip install"
fi

VERSION=$("$PYTHON" -c "import re,sys; print(re.search(r'__version__ = \"([^\"]+)\"', open('mfg_desktop/__init__.py').read()).group(1))")
BUNDLE=dist/mfg-desktop
DEB=dist/mfg-desktop_${VERSION}_amd64.deb

if [ "${MFG_REUSE_BUNDLE:-0}" = 1 ] && [ -x "$BUNDLE/mfg-desktop" ]; then
  echo "== reusing $BUNDLE (MFG_REUSE_BUNDLE=1)"
else
  step "PyInstaller bundle -> $BUNDLE"
  rm -rf "$BUNDLE"
  "$PYTHON" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
    installer/mfg_desktop.spec
  step_done "PyInstaller"
fi

step "strip, search paths"
# TensorFlow's two libraries carry their full symbol tables (about 230 MB); the dynamic symbols
# they need to load stay. PyInstaller's own strip option would strip every library, including
# ones patched by auditwheel, which can break them.
strip --strip-unneeded "$BUNDLE/_internal/tensorflow/libtensorflow_cc.so.2" \
  "$BUNDLE/_internal/tensorflow/libtensorflow_framework.so.2"
# Library search paths of the build machine baked into some libraries (a pyenv Python's own lib
# folder, scipy's manylinux build tree) would make the loader look there on the user's PC too:
# keep only the paths relative to the library itself ($ORIGIN).
while IFS= read -r -d '' lib; do
  rpath=$(patchelf --print-rpath "$lib" 2>/dev/null) || continue
  [ -n "$rpath" ] || continue
  keep=$(tr ':' '\n' <<<"$rpath" | grep '^\$ORIGIN' | paste -sd: - || true)
  [ "$keep" = "$rpath" ] && continue
  if [ -n "$keep" ]; then patchelf --set-rpath "$keep" "$lib"; else patchelf --remove-rpath "$lib"; fi
done < <(find "$BUNDLE" -type f \( -name '*.so' -o -name '*.so.*' \) -print0)
"$BUNDLE/mfg-desktop" --version
step_done "strip, search paths"

step "Debian package -> $DEB"
STAGE=build/deb/mfg-desktop
rm -rf "$STAGE" "$DEB"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/icons/hicolor/scalable/mimetypes" \
  "$STAGE/usr/share/mime/packages"
# hard links: the 2 GB bundle is not copied, dpkg-deb reads each file once
cp -al "$BUNDLE" "$STAGE/opt/mfg-desktop"
ln -s /opt/mfg-desktop/mfg-desktop "$STAGE/usr/bin/mfg-desktop"
install -m 644 installer/linux/mfg-desktop.desktop "$STAGE/usr/share/applications/mfg-desktop.desktop"
install -m 644 resources/icons/mfg_desktop.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/mfg-desktop.svg"
install -m 644 resources/icons/mfg_desktop.svg \
  "$STAGE/usr/share/icons/hicolor/scalable/mimetypes/application-x-mfgmodel.svg"
install -m 644 installer/linux/mfg-desktop-mime.xml "$STAGE/usr/share/mime/packages/mfg-desktop.xml"
install -m 755 installer/linux/postinst installer/linux/postrm "$STAGE/DEBIAN/"
# every user runs it: readable by all whatever the umask of the build was
chmod -R u+rwX,go=rX "$STAGE"
# The bundle brings its own Python and libraries. What PyInstaller leaves to the system (C library,
# OpenGL/EGL, libxcb and Wayland client libraries) and what Qt's X11 plugin needs beyond the bundle
# (xcb-icccm, xcb-keysyms) are dependencies; fontconfig-config: the bundled fontconfig reads
# /etc/fonts. glibc: the newest symbol version any file in the bundle asks for.
GLIBC=$( (find "$BUNDLE" -type f \( -name '*.so*' -o -name mfg-desktop \) -print0 | xargs -0 objdump -T 2>/dev/null || true) \
        | grep -o 'GLIBC_2\.[0-9]*' | sort -t. -k2,2n -u | tail -1 | cut -d_ -f2)
[ -n "$GLIBC" ] || { echo "no glibc version found in the bundle" >&2; exit 1; }
INSTALLED_KB=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat > "$STAGE/DEBIAN/control" <<EOF
Package: mfg-desktop
Version: $VERSION
Architecture: amd64
Maintainer: mfg_desktop team <mfg-desktop@localhost>
Installed-Size: $INSTALLED_KB
Depends: libc6 (>= $GLIBC), libegl1, libgl1, libdrm2, libxcb1, libxcb-icccm4, libxcb-keysyms1,
 libwayland-client0, libwayland-cursor0, libwayland-egl1, fontconfig-config
Recommends: fonts-dejavu-core, fonts-noto-cjk, shared-mime-info, desktop-file-utils
Section: science
Priority: optional
Description: offline machine-learning workbench for factory data
 Load CSV and Excel exports of MES, SCADA and inspection systems, profile their
 data quality, prepare them, train a neural network (TensorFlow/Keras) with live
 curves, evaluate it against baselines, score new batches and write PDF reports.
 Self-contained: Python, TensorFlow and Qt are inside /opt/mfg-desktop; it never
 opens a network connection.
EOF
dpkg-deb --root-owner-group -Z"${MFG_DEB_COMPRESSION:-zstd}" --build "$STAGE" "$DEB" >/dev/null
rm -rf build/deb
step_done "deb"
ls -l "$DEB"
echo "bundle: $(du -sh "$BUNDLE" | cut -f1)   deb: $(du -h "$DEB" | cut -f1)   installed: $((INSTALLED_KB / 1024)) MiB"
