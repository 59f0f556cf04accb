"""No network, proven: a full use of the app creates no network socket, in Python or below it.

(a) In this process: an audit hook (``sys.addaudithook``) records every socket of a family other
    than AF_UNIX and every name lookup while a full headless use runs through the CLI: profile,
    train, evaluate, predict, model and batch reports on a slice of ai4i2020.
(b) Below Python too (Qt, TensorFlow, their C++ libraries): ``--self-test`` in a fresh process under
    ``strace -f`` must make no socket() call of a network family, in any thread or child process.
(c) In a network namespace with no interfaces (``unshare -n``: only a loopback that is down), the
    self-test must still pass.
(b) and (c) share one run: ``unshare -n strace -f ... python -m mfg_desktop --self-test``.

AF_UNIX sockets are local inter-process communication through the file system (a display server,
D-Bus); they cannot leave the machine, so they are allowed. Every other family (AF_INET, AF_INET6,
AF_PACKET, AF_NETLINK, AF_BLUETOOTH, ...) is reported: even a netlink query of the interfaces is
the app looking at the network. When something opens one, fix the code path, don't allow it here.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------------------------
# (a) the in-process guard

# Audit events that mean network use. socket.__new__ and the address events carry the socket,
# whose family says whether it is local (AF_UNIX); name lookups are network use whatever asked.
SOCKET_EVENTS = {"socket.__new__", "socket.bind", "socket.connect", "socket.sendto", "socket.sendmsg"}
LOOKUP_EVENTS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo",
                 "socket.gethostbyname_ex"}
OTHER_EVENTS = {"urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect", "poplib.connect",
                "imaplib.open", "nntplib.connect", "telnetlib.Telnet.open", "webbrowser.open"}


class _Guard:
    """Records network use while active. Audit hooks cannot be removed, so one hook is installed
    per process and this flag decides whether it records."""

    def __init__(self) -> None:
        self.active = False
        self.found: list[str] = []
        self._lock = threading.Lock()

    def hook(self, event: str, args: tuple) -> None:
        if not self.active or not (event in SOCKET_EVENTS or event in LOOKUP_EVENTS or event in OTHER_EVENTS):
            return
        if event == "socket.__new__":
            family = args[1]
        elif event in SOCKET_EVENTS:
            family = getattr(args[0], "family", None)
        else:
            family = None
        if family == socket.AF_UNIX:
            return
        name = _family_name(family) if family is not None else ""
        frames = [f for f in traceback.extract_stack()[:-1] if not f.filename.startswith("<frozen")]
        where = "".join(traceback.format_list(frames[-14:]))
        with self._lock:
            self.found.append(f"{event} {name} {args[1:] if event in SOCKET_EVENTS else args}\n{where}")


def _family_name(family: object) -> str:
    try:
        return socket.AddressFamily(family).name
    except (ValueError, TypeError):
        return str(family)


_GUARD = _Guard()
_HOOKED = False


@contextmanager
def no_network() -> Iterator[_Guard]:
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_GUARD.hook)
        _HOOKED = True
    _GUARD.found = []
    _GUARD.active = True
    try:
        yield _GUARD
    finally:
        _GUARD.active = False


def test_guard_catches_network_sockets_and_lookups_but_not_local_ones():
    with no_network() as guard:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM):
            pass
        a, b = socket.socketpair(socket.AF_UNIX)
        a.close()
        b.close()
        with pytest.raises(OSError):
            socket.getaddrinfo("mfg-desktop.invalid", 80)
    assert len(guard.found) == 2, guard.found
    assert guard.found[0].startswith("socket.__new__ AF_INET ")
    assert guard.found[1].startswith("socket.getaddrinfo ")
    assert "test_no_network.py" in guard.found[0]  # where it happened


def test_full_headless_use_creates_no_network_socket(ai4i_path, tmp_path, capsys):
    from mfg_desktop.cli import main

    data = tmp_path / "ai4i_part.csv"
    pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:2500].to_csv(data, index=False)
    model = tmp_path / "model.mfgmodel"
    scored = tmp_path / "scored"
    with no_network() as guard:
        codes = [
            main(["profile", str(data), "--target", "Machine_failure"]),
            main(["train", str(data), "--target", "Machine_failure", "--epochs", "2", "--out", str(model)]),
            main(["evaluate", str(model), str(data)]),
            main(["predict", str(model), str(data), "--out", str(scored)]),
            main(["report", str(model), "--data", str(data), "--out", str(tmp_path / "model.pdf")]),
            main(["report", str(model), "--predictions", str(scored), "--out", str(tmp_path / "batch.pdf")]),
        ]
    out = capsys.readouterr()
    assert codes == [0] * 6, out.err[-3000:]
    assert not guard.found, "network use during a headless run:\n\n" + "\n".join(guard.found)
    # the run really happened: a model, 2,500 scored rows, two PDFs
    assert model.stat().st_size > 0
    assert len(pd.read_csv(scored / "ai4i_part_scored.csv")) == 2500
    for pdf in ("model.pdf", "batch.pdf"):
        assert (tmp_path / pdf).read_bytes().startswith(b"%PDF-")


# --------------------------------------------------------------------------------------------
# (b) and (c): the self-test under strace, in a network namespace without interfaces

# Families that stay on this machine (see the module docstring).
LOCAL_FAMILIES = {"AF_UNIX", "AF_LOCAL", "PF_UNIX", "PF_LOCAL"}
SOCKET_CALL = re.compile(r"^(?P<pid>\d+)\s+socket\((?P<family>[A-Z_0-9]+|\d+),")

# Runs the self-test with a Python audit hook that writes the Python stack of any network socket
# into a file, so that a failure says where in Python it happened (strace gives the C stack).
BOOTSTRAP = textwrap.dedent("""
    import socket
    import sys
    import traceback

    log = open(sys.argv[1], "a", encoding="utf-8")

    def hook(event, args):
        if event == "socket.__new__" and args[1] != socket.AF_UNIX:
            frames = [f for f in traceback.extract_stack()[:-1] if not f.filename.startswith("<frozen")]
            log.write(f"socket({args[1]!r}) in Python:\\n" + "".join(traceback.format_list(frames[-14:])) + "\\n")
            log.flush()

    sys.addaudithook(hook)
    from mfg_desktop.cli import main
    sys.exit(main(["--self-test"]))
""")


def _works(command: list[str]) -> bool:
    if shutil.which(command[0]) is None:
        return False
    return subprocess.run(command, check=False, capture_output=True).returncode == 0


def _unshare_works() -> bool:
    return _works(["unshare", "-n", "true"])


def _strace_works() -> bool:
    # strace needs ptrace, which some containers forbid
    return _works(["strace", "-f", "-qq", "-e", "trace=socket", "-o", os.devnull, "true"])


def network_sockets(trace: str) -> list[str]:
    """The strace entries (with their C stack from -k) whose socket() family is not local."""
    found = []
    entry: list[str] = []
    for line in trace.splitlines():
        if line.startswith(" > "):  # a stack frame of the entry above
            if entry:
                entry.append(line)
            continue
        if entry:
            found.append("\n".join(entry[:16]))
            entry = []
        match = SOCKET_CALL.match(line)
        if match and match["family"] not in LOCAL_FAMILIES:
            entry = [line]
    if entry:
        found.append("\n".join(entry[:16]))
    return found


def _strace_command(log: Path) -> list[str]:
    # --seccomp-bpf stops only at the traced calls (TensorFlow makes millions of others);
    # -k adds the C stack of each, so a failure names the library that opened the socket.
    return ["strace", "-f", "--seccomp-bpf", "-qq", "-k", "-e", "trace=socket", "-e", "signal=none",
            "-o", str(log)]


@pytest.fixture(scope="module")
def self_test_run(tmp_path_factory):
    """One run of the self-test: under ``unshare -n`` and ``strace`` where each is available."""
    tmp = tmp_path_factory.mktemp("no_network")
    home = tmp / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "MFG_DESKTOP_CONFIG_DIR"}
    env.update({"PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "HOME": str(home),
                "XDG_CONFIG_HOME": str(home / ".config"), "TF_CPP_MIN_LOG_LEVEL": "2"})
    script = tmp / "bootstrap.py"
    script.write_text(BOOTSTRAP, encoding="utf-8")
    python_log = tmp / "python_sockets.log"
    trace_log = tmp / "strace.log"
    interfaces = tmp / "interfaces.txt"
    isolated = _unshare_works()
    traced = _strace_works()
    command = [sys.executable, str(script), str(python_log)]
    if traced:
        command = _strace_command(trace_log) + command
    if isolated:
        # the interfaces as seen from inside the namespace, then the traced self-test
        command = ["unshare", "-n", "sh", "-c", 'cat /proc/net/dev > "$0" && exec "$@"', str(interfaces), *command]
    result = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=500)
    return {
        "result": result,
        "isolated": isolated,
        "traced": traced,
        "trace": trace_log.read_text(errors="replace") if trace_log.exists() else "",
        "python": python_log.read_text() if python_log.exists() else "",
        "interfaces": interfaces.read_text() if interfaces.exists() else "",
    }


def test_self_test_creates_no_network_socket_at_any_level(self_test_run):
    if not self_test_run["traced"]:
        pytest.skip("strace is not installed (Debian package strace) or may not trace here; the C-level check needs it")
    result = self_test_run["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    found = network_sockets(self_test_run["trace"])
    assert not found, (
        f"{len(found)} network socket(s) created during the self-test (families: "
        f"{sorted({SOCKET_CALL.match(f)['family'] for f in found})}); process id, call and C stack:\n\n"
        + "\n\n".join(found) + "\n\nPython stacks, where the socket came from Python:\n" + self_test_run["python"]
    )
    assert not self_test_run["python"]


def test_self_test_passes_without_network_interfaces(self_test_run):
    if not self_test_run["isolated"]:
        pytest.skip("`unshare -n true` failed: making a network namespace needs CAP_SYS_ADMIN or user namespaces")
    interfaces = [line.split(":")[0].strip() for line in self_test_run["interfaces"].splitlines() if ":" in line]
    assert interfaces == ["lo"], self_test_run["interfaces"]  # a new namespace: only loopback, and it is down
    result = self_test_run["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("self-test passed: "), result.stdout


def test_the_strace_check_finds_a_network_socket(tmp_path):
    if not _strace_works():
        pytest.skip("strace is not installed (Debian package strace) or may not trace here")
    log = tmp_path / "strace.log"
    code = ("import socket; socket.socket(socket.AF_UNIX).close(); socket.socket(socket.AF_INET6).close(); "
            "socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close()")
    subprocess.run(_strace_command(log) + [sys.executable, "-c", code], check=True, capture_output=True)
    found = network_sockets(log.read_text())
    assert [SOCKET_CALL.match(f)["family"] for f in found] == ["AF_INET6", "AF_NETLINK"], log.read_text()
    assert all("\n > " in f for f in found)  # with the C stack
