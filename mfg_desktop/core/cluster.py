"""The plant's Ray cluster: connect and check, train there, score files there.

Everything here is optional: Ray (the ``cluster`` extra) is imported inside functions only, so
without it nothing about Ray loads and :func:`require_ray` names the extra to install.

Connecting (:func:`connect`) is done in two steps, because ``ray.init`` itself cannot be bounded
in time (measured with Ray 2.60: a dead address keeps it retrying for over two minutes, a refused
token for ~24 s, and both end in "Failed to connect to Ray cluster at <address>", which names the
address whatever was wrong):

1. :func:`probe` asks the head one gRPC question (``GetClusterId`` of the GCS, or ``ClusterInfo``
   of the Ray Client server for ``ray://``) with the token in the ``authorization`` header, the
   way Ray's own client interceptor sends it, and once more without a token. Each answer is known
   within a few seconds: refused connection (dead address), no answer (firewall), not a Ray port,
   token refused, or the cluster answers without a token (no token authentication: refused unless
   ``insecure=True``).
2. Only then ``ray.init`` runs, with the app's own package sent along (``py_modules``), so the
   workers run exactly this version of the training and scoring code.

Token authentication is Ray's ``RAY_AUTH_MODE=token`` (Ray >= 2.52): one shared bearer token,
found as Ray finds it (``RAY_AUTH_TOKEN``, then ``RAY_AUTH_TOKEN_PATH``, then ``~/.ray/auth_token``)
unless a token file is named. The address and the token are never written into a model file,
a report or a log line; :class:`ClusterSettings` holds the token file's path, never the token.

Training remotely (:func:`train_on_cluster`) runs :func:`train.train_run` in a Ray task: the
table goes to the object store once (``ray.put``), progress comes back through a small channel
actor (batched every :data:`EXCHANGE_S`), and the same channel carries Cancel to the worker, where
it stops training within a few batches and keeps the best weights, exactly as a local Cancel.
The weights come back as arrays and the model is rebuilt here, so the model file is written on
this PC by the same code as a local one.

What a window drives (all Qt-free, all in its worker thread, all reporting through a JobState):

* :func:`ray_installed` — grey the "Ray cluster" choice out (with :data:`INSTALL_HINT`) when False;
* :func:`check_cluster` (:class:`ClusterSettings`) -> :class:`ClusterInfo` (``lines()`` to show),
  or :class:`ClusterError` with the reason;
* ``with connect(settings) as session: train_on_cluster(session, ..., state=state)`` — the same
  EpochUpdate/BatchUpdate partial results as ``train.train_run``; ``state.request_cancel()`` from
  the GUI thread stops the remote work (tests/cluster: cancelled from another thread);
* ``search.search_run(..., session=session)`` and :func:`score_files_on_cluster` likewise.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from mfg_desktop.core.atomic import write_bytes_atomic
from mfg_desktop.core.errors import Cancelled, MfgError
from mfg_desktop.core.i18n import N_, tr
from mfg_desktop.core.jobs import JobState, ensure_state

INSTALL_HINT = N_("install the cluster extra: pip install 'mfg-desktop[cluster]'")
DEFAULT_GCS_PORT = 6379
DEFAULT_CLIENT_PORT = 10001
PROBE_TIMEOUT_S = 5.0
# how often a remote training sends its progress and learns about Cancel (one actor call each)
EXCHANGE_S = 0.2
# after Cancel, how long a remote training may take to stop by itself before it is killed
CANCEL_GRACE_S = 30.0
# what the workers must be able to import to train and score
WORKER_PACKAGES = ("numpy", "pandas", "pyarrow", "sklearn", "keras", "charset_normalizer", "openpyxl")


class ClusterError(MfgError):
    """The cluster cannot be used: not installed, not reachable, not authorised, not fit."""


def ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def require_ray() -> None:
    """Raise :class:`ClusterError` naming the extra when Ray is not installed."""
    if not ray_installed():
        raise ClusterError(tr("Ray is not installed, so the cluster cannot be used;"), hint=tr(INSTALL_HINT) + ".")


def import_tune() -> Any:
    """``ray.tune``, importable although the CLI put an offline stand-in for ``requests`` in place.

    Ray Data (which Tune imports) names ``requests.Response`` in annotations at import time; the
    stand-in (cli._keep_http_clients_out) refuses every attribute. On the cluster path the real
    ``requests`` is loaded instead: importing it binds one local IPv6 probe socket (urllib3) and
    connects nowhere; Ray itself talks only to the configured address.
    """
    require_ray()
    stand_in = sys.modules.get("requests")
    if stand_in is not None and getattr(stand_in, "__file__", None) is None:
        del sys.modules["requests"]
    from ray import tune

    return tune


# --------------------------------------------------------------------------------------------
# settings, address and token


@dataclass(frozen=True)
class ClusterSettings:
    """Where the cluster is and how to authenticate (what Settings › Compute stores)."""

    address: str
    token_file: str | None = None  # None: as Ray finds it (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token)
    insecure: bool = False  # accept a cluster without token authentication


@dataclass(frozen=True)
class Address:
    kind: str  # "gcs" (HOST:PORT, what `ray start --head` prints) or "client" (ray://HOST:PORT)
    host: str
    port: int

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def for_ray(self) -> str:
        return f"ray://{self.target}" if self.kind == "client" else self.target


def parse_address(text: str) -> Address:
    """``HOST:PORT``, ``HOST`` (port 6379), ``ray://HOST:PORT`` or ``ray://HOST`` (port 10001)."""
    raw = (text or "").strip()
    kind, rest = ("client", raw[len("ray://"):]) if raw.lower().startswith("ray://") else ("gcs", raw)
    if "://" in rest or "/" in rest or not rest:
        raise ClusterError(tr("The cluster address {address!r} is not HOST:PORT or ray://HOST:PORT.", address=raw),
                           hint=tr("Use what `ray start --head` printed, e.g. 10.0.0.5:6379, or "
                                   "ray://10.0.0.5:10001."))
    host, port_text = rest, ""
    if rest.startswith("["):  # [IPv6]:port
        host, _, after = rest[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ""
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
    default = DEFAULT_CLIENT_PORT if kind == "client" else DEFAULT_GCS_PORT
    try:
        port = int(port_text) if port_text else default
    except ValueError:
        port = -1
    if not host or not 0 < port < 65536:
        raise ClusterError(tr("The cluster address {address!r} has no valid host and port.", address=raw),
                           hint=tr("Use HOST:PORT, e.g. 10.0.0.5:6379."))
    return Address(kind, host, port)


def default_token_path() -> Path:
    """Ray's default token file (ray._private.authentication.authentication_token_setup)."""
    return Path.home() / ".ray" / "auth_token"


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    source: str  # where it was found, for messages (never the token itself)


def find_token(token_file: str | os.PathLike | None = None) -> Token | None:
    """The token from ``token_file``, else where Ray looks: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH,
    ~/.ray/auth_token. None when there is none."""
    if token_file:
        return Token(_read_token_file(Path(token_file), N_("the token file")),
                     tr("the token file {name}", name=Path(token_file).name))
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return Token(os.environ["RAY_AUTH_TOKEN"].strip(), "RAY_AUTH_TOKEN")
    if os.environ.get("RAY_AUTH_TOKEN_PATH"):
        path = Path(os.environ["RAY_AUTH_TOKEN_PATH"])
        return Token(_read_token_file(path, "RAY_AUTH_TOKEN_PATH"), f"RAY_AUTH_TOKEN_PATH ({path.name})")
    if default_token_path().is_file():
        return Token(_read_token_file(default_token_path(), N_("Ray's default token file")), str(default_token_path()))
    return None


def _read_token_file(path: Path, what: str) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ClusterError(tr("{what} cannot be read ({reason}).", what=tr(what), reason=exc.strerror or exc),
                           file=path, hint=tr("Name the file the cluster's administrator gave you.")) from None
    except UnicodeDecodeError:
        token = ""
    if not token:
        raise ClusterError(tr("{what} holds no token.", what=tr(what)), file=path,
                           hint=tr("Copy the token the head was started with (`ray get-auth-token`) into it."))
    return token


# --------------------------------------------------------------------------------------------
# probing the head (gRPC, bounded)


def _channel(address: Address) -> Any:
    """A gRPC channel to the head; TLS when Ray's own RAY_USE_TLS says the cluster uses it."""
    import grpc

    if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        def read(name: str) -> bytes | None:
            path = os.environ.get(name)
            return Path(path).read_bytes() if path else None

        credentials = grpc.ssl_channel_credentials(root_certificates=read("RAY_TLS_CA_CERT"),
                                                   private_key=read("RAY_TLS_SERVER_KEY"),
                                                   certificate_chain=read("RAY_TLS_SERVER_CERT"))
        return grpc.secure_channel(address.target, credentials)
    return grpc.insecure_channel(address.target)


def _ask_head(address: Address, token: str | None, timeout: float) -> tuple[str, str]:
    """One authenticated question to the head: ("ok", "") or (grpc status name, details)."""
    import grpc

    metadata = [("authorization", f"Bearer {token}")] if token else []
    with _channel(address) as channel:
        try:
            if address.kind == "client":
                from ray.core.generated import ray_client_pb2, ray_client_pb2_grpc

                stub = ray_client_pb2_grpc.RayletDriverStub(channel)
                stub.ClusterInfo(ray_client_pb2.ClusterInfoRequest(type=ray_client_pb2.ClusterInfoType.PING),
                                 metadata=metadata, timeout=timeout)
            else:
                from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

                stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
                stub.GetClusterId(gcs_service_pb2.GetClusterIdRequest(), metadata=metadata, timeout=timeout)
        except grpc.RpcError as exc:
            return exc.code().name, str(exc.details() or "")
    return "ok", ""


def probe(settings: ClusterSettings, timeout: float = PROBE_TIMEOUT_S) -> Token | None:
    """Check that the head answers and accepts the token (within ~2 x ``timeout``); the token used.

    Raises :class:`ClusterError` saying what is wrong: dead or wrong address, a port that is not
    Ray's, token missing or refused, or a cluster without token authentication (unless
    ``settings.insecure``).
    """
    require_ray()
    address = parse_address(settings.address)
    token = find_token(settings.token_file)
    where = address.for_ray
    status, details = _ask_head(address, token.value if token else None, timeout)
    if status == "UNAVAILABLE":
        if "refused" in details.lower():
            raise ClusterError(tr("Nothing listens at {address}: the connection was refused.", address=where),
                               hint=tr("Check the address and port (what `ray start --head` printed) and that the "
                                       "head is running (`ray status` on the head)."))
        raise ClusterError(tr("The cluster at {address} cannot be reached ({details}).", address=where,
                              details=details.strip() or "unavailable"),
                           hint=tr("Check the host name, the network and the firewall (docs/cluster.md lists the "
                                   "ports)."))
    if status == "DEADLINE_EXCEEDED":
        raise ClusterError(tr("The cluster at {address} did not answer within {seconds:.0f} s.", address=where,
                              seconds=timeout),
                           hint=tr("A firewall may drop the traffic, or the host is not a Ray head; see "
                                   "docs/cluster.md."))
    if status == "UNAUTHENTICATED":
        if token is None:
            raise ClusterError(tr("The cluster at {address} requires a token and none was found.", address=where),
                               hint=tr("Name the token file (--token-file, or Settings › Compute), or set "
                                       "RAY_AUTH_TOKEN / RAY_AUTH_TOKEN_PATH, or put it in {path}.",
                                       path=default_token_path()))
        raise ClusterError(tr("The cluster at {address} refused the token from {source}.", address=where,
                              source=token.source),
                           hint=tr("Use the token the head was started with (`ray get-auth-token` on the head)."))
    if status in ("UNIMPLEMENTED", "UNKNOWN", "INTERNAL", "PERMISSION_DENIED", "FAILED_PRECONDITION"):
        raise ClusterError(tr("Something answers at {address}, but not as a Ray head ({details}).", address=where,
                              details=details.strip() or status),
                           hint=tr("Use the Ray Client port (10001 by default).") if address.kind == "client"
                           else tr("Use the head's GCS port (6379 by default)."))
    if status != "ok":
        raise ClusterError(tr("The cluster at {address} answered with an error ({status}: {details}).",
                              address=where, status=status, details=details.strip()))
    # The token was accepted; a head that also answers without one does not check tokens at all.
    if _ask_head(address, None, timeout)[0] == "ok" and not settings.insecure:
        raise ClusterError(
            tr("The cluster at {address} runs without token authentication: anyone on the network could run code "
               "on it and read the data sent there, so the app does not use it.", address=where),
            hint=tr("Restart the cluster with RAY_AUTH_MODE=token (docs/cluster.md), or pass --insecure-cluster if "
                    "the network is closed and you accept that risk."))
    return token


# --------------------------------------------------------------------------------------------
# the connection


@contextlib.contextmanager
def _auth_environment(token: Token | None) -> Iterator[None]:
    """RAY_AUTH_MODE / RAY_AUTH_TOKEN for ray.init, set for this process only while connecting."""
    names = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
    saved = {n: os.environ.get(n) for n in names}
    if token is not None:
        os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token.value)
        os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    else:
        os.environ["RAY_AUTH_MODE"] = "disabled"
    try:
        from ray._private.authentication_test_utils import reset_auth_token_state

        reset_auth_token_state()  # Ray caches the token and the mode; make it read them again
    except ImportError:
        pass
    try:
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def _translate_init_error(exc: BaseException, address: Address) -> ClusterError:
    text = str(exc)
    low = text.lower()
    if "version mismatch" in low or ("version" in low and "ray" in low and "cluster" in low and "python" in low):
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return ClusterError(tr("The cluster runs another Ray or Python version than this PC ({details}).",
                               details=first[:300]),
                            hint=tr("Install the same Ray and Python versions as the cluster (`cluster check` on a "
                                    "PC that connects, or `ray --version` on the head)."))
    if "node ip address" in low or "raylet" in low and "ip" in low:
        return ClusterError(
            tr("This PC is not a node of the cluster at {address}, so it cannot connect by HOST:PORT.",
               address=address.for_ray),
            hint=tr("Use the Ray Client address ray://{host}:{port}, or join this PC with "
                    "`ray start --address={target} --num-cpus=0`.", host=address.host, port=DEFAULT_CLIENT_PORT,
                    target=address.target))
    if "authentication" in low or "token" in low:
        return ClusterError(tr("The cluster at {address} refused the token while connecting.", address=address.for_ray),
                            hint=tr("Use the token the head was started with (`ray get-auth-token` on the head)."))
    detail = f"{type(exc).__name__}: {text[:300]}"  # the library's own words, as they are
    return ClusterError(tr("Connecting to the cluster at {address} failed ({error}).", address=address.for_ray,
                           error=detail))


class ClusterSession:
    """A connection to the cluster (use as a context manager; :func:`connect` makes one)."""

    def __init__(self, settings: ClusterSettings, token: Token | None) -> None:
        self.settings = settings
        self.address = parse_address(settings.address)
        self._token = token

    def __enter__(self) -> Self:
        import ray

        import mfg_desktop

        if ray.is_initialized():
            ray.shutdown()
        package = str(Path(mfg_desktop.__file__).resolve().parent)
        with _auth_environment(self._token):
            try:
                with _quiet_stderr():
                    ray.init(address=self.address.for_ray, log_to_driver=False, logging_level="ERROR",
                             configure_logging=True, include_dashboard=False if self.address.kind == "gcs" else None,
                             runtime_env={"py_modules": [package],
                                          "excludes": ["__pycache__", "*.pyc"]})
            except ClusterError:
                raise
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - every failure becomes one clear message
                raise _translate_init_error(exc, self.address) from None
        return self

    def __exit__(self, *exc: object) -> None:
        import ray

        with contextlib.suppress(Exception):
            ray.shutdown()


def connect(settings: ClusterSettings) -> ClusterSession:
    """Probe the head (bounded, with clear messages), then return a session to enter."""
    return ClusterSession(settings, probe(settings))


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Ray's C++ core logs retries to file descriptor 2; the app's stderr stays for its own messages."""
    try:
        fd = sys.stderr.fileno()
    except (OSError, ValueError, AttributeError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), fd)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, fd)
        os.close(saved)


# --------------------------------------------------------------------------------------------
# check


@dataclass
class NodeInfo:
    host: str
    cpus: float
    gpus: float
    memory_gib: float
    alive: bool
    environment: dict[str, Any] = field(default_factory=dict)  # versions seen by a worker there


@dataclass
class ClusterInfo:
    ray_version: str
    nodes: list[NodeInfo]
    problems: list[str] = field(default_factory=list)  # the cluster cannot run the app's work
    warnings: list[str] = field(default_factory=list)  # it can, with a caveat
    token_auth: bool = True

    @property
    def cpus(self) -> float:
        return sum(n.cpus for n in self.nodes if n.alive)

    @property
    def gpus(self) -> float:
        return sum(n.gpus for n in self.nodes if n.alive)

    def lines(self) -> list[str]:
        alive = [n for n in self.nodes if n.alive]
        out = [tr("Ray {version}, {nodes} node(s), {cpus:g} CPUs, {gpus:g} GPUs, token authentication on",
                  version=self.ray_version, nodes=len(alive), cpus=self.cpus, gpus=self.gpus) if self.token_auth
               else tr("Ray {version}, {nodes} node(s), {cpus:g} CPUs, {gpus:g} GPUs, token authentication OFF",
                       version=self.ray_version, nodes=len(alive), cpus=self.cpus, gpus=self.gpus)]
        for n in self.nodes:
            env = n.environment
            versions = ", ".join(f"{k} {env[k]}" for k in ("python", "keras", "backend_version") if k in env)
            out.append("  " + tr("node {host}: {cpus:g} CPUs, {gpus:g} GPUs, {memory:.1f} GiB", host=n.host,
                                 cpus=n.cpus, gpus=n.gpus, memory=n.memory_gib)
                       + ("" if n.alive else " " + tr("(dead)")) + (f"; {versions}" if versions else ""))
        out += [tr("warning: {text}", text=w) for w in self.warnings]
        out += [tr("problem: {text}", text=p) for p in self.problems]
        return out


def worker_environment() -> dict[str, Any]:
    """What a worker can run: versions of Python and the libraries, or which import failed."""
    import platform

    env: dict[str, Any] = {"python": platform.python_version(), "missing": []}
    for name in WORKER_PACKAGES:
        if importlib.util.find_spec(name) is None:
            env["missing"].append(name)
    if not env["missing"]:
        from mfg_desktop.core.train import library_versions

        env.update(library_versions())
    return env


def cluster_info(session: ClusterSession | None = None) -> ClusterInfo:
    """Nodes, CPUs, GPUs, the Ray version and what each node's workers can import (connected)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = ray.nodes()
    remote_env = ray.remote(num_cpus=0, max_retries=0)(worker_environment)
    alive = [n for n in nodes if n.get("Alive")]
    refs = [remote_env.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote()
            for n in alive]
    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=120)
    envs = {}
    info = ClusterInfo(ray_version=ray.__version__, nodes=[],
                       token_auth=not (session is not None and session._token is None))
    for n, ref in zip(alive, refs, strict=True):
        try:
            envs[n["NodeID"]] = ray.get(ref) if ref in ready else {"error": tr("no answer within 120 s")}
        except Exception as exc:  # noqa: BLE001 - reported per node
            envs[n["NodeID"]] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    for n in nodes:
        resources = n.get("Resources", {})
        info.nodes.append(NodeInfo(host=str(n.get("NodeManagerAddress", "?")), cpus=float(resources.get("CPU", 0)),
                                   gpus=float(resources.get("GPU", 0)),
                                   memory_gib=float(resources.get("memory", 0)) / 2**30,
                                   alive=bool(n.get("Alive")), environment=envs.get(n["NodeID"], {})))
    from mfg_desktop.core.train import library_versions

    here = library_versions()
    for node in info.nodes:
        env = node.environment
        if not node.alive:
            continue
        if env.get("error"):
            info.problems.append(tr("node {host} could not run a task ({error}).", host=node.host, error=env["error"]))
        elif env.get("missing"):
            info.problems.append(tr("node {host} lacks {packages}: install the app's libraries there (pip install "
                                    "'mfg-desktop[cluster]' in the Python that runs Ray).", host=node.host,
                                    packages=", ".join(env["missing"])))
        else:
            differ = [tr("{name} {version} (this PC {here})", name=k, version=env.get(k), here=v)
                      for k, v in here.items()
                      if k in ("python", "keras", "backend", "backend_version", "numpy") and env.get(k) != v]
            if differ:
                info.warnings.append(tr("node {host} has {versions}: results may differ in the last digits from "
                                        "this PC's.", host=node.host, versions=", ".join(differ)))
    if not info.token_auth:
        info.warnings.append(tr("the cluster runs without token authentication (--insecure-cluster)."))
    if info.cpus < 1:
        info.problems.append(tr("the cluster has no CPU to run tasks on."))
    return info


def check_cluster(settings: ClusterSettings) -> ClusterInfo:
    """Connect, describe the cluster and check its workers can run the app's work."""
    with connect(settings) as session:
        return cluster_info(session)


# --------------------------------------------------------------------------------------------
# the channel between a remote job and this PC


class Channel:
    """A small actor: the remote job pushes its progress events, this PC pulls them and sets Cancel."""

    def __init__(self) -> None:
        self._events: list[tuple[str, Any]] = []
        self._cancel = False

    def exchange(self, events: list[tuple[str, Any]]) -> bool:
        self._events.extend(events)
        return self._cancel

    def pull(self) -> list[tuple[str, Any]]:
        events, self._events = self._events, []
        return events

    def cancel(self) -> None:
        self._cancel = True


class RemoteJobState(JobState):
    """The worker's JobState: buffers progress and partial results and, every :data:`EXCHANGE_S`,
    sends them through the :class:`Channel`, learning in the same call whether Cancel was asked."""

    def __init__(self, channel: Any) -> None:
        super().__init__(on_progress=lambda f, m: self._buffer("progress", (f, m)),
                         on_partial_result=lambda r: self._buffer("partial", r),
                         on_stage=lambda stage: self._buffer("stage", stage))
        self._channel = channel
        self._pending: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mfg-channel", daemon=True)
        self._thread.start()

    def _buffer(self, kind: str, payload: Any) -> None:
        with self._lock:
            self._pending.append((kind, payload))

    def flush(self) -> None:
        import ray

        with self._lock:
            events, self._pending = self._pending, []
        if ray.get(self._channel.exchange.remote(events)):
            self.request_cancel()

    def _loop(self) -> None:
        while not self._stop.wait(EXCHANGE_S):
            with contextlib.suppress(Exception):
                self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()


def _follow(job_ref: Any, channel: Any, state: JobState, on_event: Callable[[str, Any], None] | None = None,
            extra_refs: Sequence[Any] = ()) -> Any:
    """Wait for ``job_ref`` while passing its events to ``state``; Cancel stops it (kept best weights
    when it stops within :data:`CANCEL_GRACE_S`, else killed and :class:`Cancelled` raised)."""
    import ray

    cancel_sent_at: float | None = None

    def deliver() -> None:
        for kind, payload in ray.get(channel.pull.remote()):
            if kind == "progress":
                state.set_progress(*payload)
            elif kind == "stage":  # "network", then "trees" in an Auto run
                state.set_stage(payload)
            else:
                state.set_partial_result(payload)
            if on_event is not None:
                on_event(kind, payload)

    while True:
        done, _ = ray.wait([job_ref], timeout=EXCHANGE_S)
        deliver()
        if done:
            return ray.get(job_ref)
        if state.is_interruption_requested():
            if cancel_sent_at is None:
                cancel_sent_at = time.monotonic()
                channel.cancel.remote()
            elif time.monotonic() - cancel_sent_at > CANCEL_GRACE_S:
                ray.cancel(job_ref, force=True)
                raise Cancelled()


# --------------------------------------------------------------------------------------------
# training


def _remote_train(frame: Any, recipe: Any, split_spec: Any, net_spec: Any, seed: int, class_weight: Any,
                  channel: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """Runs on a worker: the same :func:`train_run` as on the PC; the run back without its Keras model
    (its weights travel as arrays; LightGBM trees travel with the run)."""
    from mfg_desktop.core.train import train_run

    state = RemoteJobState(channel)
    try:
        run = train_run(frame, recipe, split_spec, net_spec, seed=seed, class_weight=class_weight, state=state,
                        **options)
    finally:
        state.close()
    weights = None if run.model is None else [np.asarray(w) for w in run.model.get_weights()]
    run.model = None
    return {"run": run, "weights": weights}


def rebuild_run(result: Mapping[str, Any]) -> Any:
    """The remote run with its Keras model rebuilt here from the returned weights."""
    from mfg_desktop.core.network import build_model
    from mfg_desktop.core.task import REGRESSION

    run = result["run"]
    if result["weights"] is None:  # trees only
        return run
    n_out = max(run.fitted.label_mapping.n_classes, 2) if run.task != REGRESSION else 1
    model = build_model(run.network, run.n_features, run.task, n_out, seed=run.seed, compile=False)
    model.set_weights(result["weights"])
    run.model = model
    return run


def train_on_cluster(
    session: ClusterSession,
    df: Any,
    recipe: Any,
    split_spec: Any,
    net_spec: Any,
    seed: int = 0,
    class_weight: Any = "auto",
    state: JobState | None = None,
    data_files: Sequence[str | Path] = (),
    printer: Callable[[Any], None] | None = None,
    **options: Any,
) -> Any:
    """:func:`train.train_run` on a cluster worker, with the same progress, partial results and
    Cancel through ``state``; returns the :class:`TrainingRun` with its model, built on this PC.
    ``options``: train_run's model choice, tree settings and costs. (Over several data-parallel
    workers: :func:`mfg_desktop.core.parallel.train_on_workers`.)"""
    import ray

    from mfg_desktop.core.train import data_fingerprint

    state = ensure_state(state)
    state.set_progress(0.0, tr("sending the data to the cluster"))
    frame_ref = ray.put(df)
    channel = ray.remote(num_cpus=0)(Channel).remote()
    task = ray.remote(num_cpus=1, max_retries=0)(_remote_train)
    ref = task.remote(frame_ref, recipe, split_spec, net_spec, int(seed), class_weight, channel, dict(options))
    try:
        result = _follow(ref, channel, state, epoch_relay(printer))
    except ray.exceptions.RayTaskError as exc:
        raise _unwrap(exc) from None
    finally:
        ray.kill(channel)
    run = rebuild_run(result)
    # the files were read on this PC: their checksums are taken here (the worker saw only the table)
    run.data_fingerprint = data_fingerprint(df, data_files)
    run.device = tr("{device} on a Ray cluster node", device=run.device)
    return run


def epoch_relay(printer: Callable[[Any], None] | None) -> Callable[[str, Any], None]:
    """What :func:`_follow` calls with each remote event: the epoch updates go on to ``printer``."""
    from mfg_desktop.core.train import EpochUpdate

    def relay(kind: str, payload: Any) -> None:
        if printer is not None and isinstance(payload, EpochUpdate):
            printer(payload)

    return relay


def _unwrap(exc: Any) -> BaseException:
    """The original exception of a failed remote task (MfgError and Cancelled pass unchanged)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, MfgError | Cancelled):
        return cause
    last = str(cause or exc).strip().splitlines()[-1][:300] if str(cause or exc).strip() else ""
    error = f"{type(cause or exc).__name__}: {last}"
    return ClusterError(tr("The remote job failed: {error}", error=error))


# --------------------------------------------------------------------------------------------
# scoring


_WORKER_MODELS: dict[str, Any] = {}


def _remote_score(model_bytes: bytes, model_name: str, file_name: str, data: bytes, options: Any) -> dict[str, Any]:
    """Runs on a worker: score one file's bytes with the model file's bytes; the output bytes back."""
    import hashlib

    from mfg_desktop.core.bundle import load_model_file
    from mfg_desktop.core.score import score_file

    key = hashlib.sha256(model_bytes).hexdigest()
    with tempfile.TemporaryDirectory(prefix="mfg_remote_") as tmp:
        if key not in _WORKER_MODELS:  # a worker process keeps the model between files
            model_path = Path(tmp) / model_name
            model_path.write_bytes(model_bytes)
            _WORKER_MODELS.clear()
            _WORKER_MODELS[key] = load_model_file(model_path)
        source = Path(tmp) / "in" / file_name
        source.parent.mkdir()
        source.write_bytes(data)
        out_dir = Path(tmp) / "out"
        result = score_file(_WORKER_MODELS[key], source, out_dir, options)
        output = result.output.read_bytes() if result.output is not None else None
        output_name = result.output.name if result.output is not None else None
    return {"result": result, "output": output, "output_name": output_name}


def score_files_on_cluster(
    session: ClusterSession,
    model: Any,
    paths_or_folders: Sequence[str | Path],
    out_dir: str | Path,
    state: JobState | None = None,
    options: Any = None,
) -> list[Any]:
    """:func:`score.score_files` with each file scored in parallel on the workers.

    The model file goes to the object store once, each input file's bytes once; each output
    comes back as bytes and is written here, atomically. Results reach ``state`` in input order.
    """
    import ray

    from mfg_desktop.core.score import ScoreOptions, check_batch_outputs, expand_inputs, output_path

    state = ensure_state(state)
    options = options or ScoreOptions()
    out_dir = Path(out_dir)
    files = expand_inputs(paths_or_folders)
    check_batch_outputs(files, out_dir, options)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MfgError(tr("the output folder cannot be created ({reason}).", reason=exc.strerror or exc),
                       file=out_dir) from None
    model_ref = ray.put(Path(model.path).read_bytes())
    task = ray.remote(num_cpus=1, max_retries=1)(_remote_score)
    refs = []
    unreadable: dict[int, str] = {}
    for i, f in enumerate(files):
        try:
            data = f.read_bytes()
        except OSError as exc:
            unreadable[i] = tr("the file cannot be read ({reason}).", reason=exc.strerror or exc)
            refs.append(None)
            continue
        refs.append(task.remote(model_ref, Path(model.path).name, f.name, data, options))
    results: list[Any] = []
    pending = [r for r in refs if r is not None]
    try:
        for i, (f, ref) in enumerate(zip(files, refs, strict=True)):
            if ref is None:
                from mfg_desktop.core.score import FileScore

                result = FileScore(path=f, task=model.task, error=f"{f.name}: {unreadable[i]}")
            else:
                while True:
                    state.check_cancelled()
                    done, _ = ray.wait([ref], timeout=0.1)
                    if done:
                        break
                try:
                    answer = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    raise _unwrap(exc) from None
                result = answer["result"]
                result.path = f
                if answer["output"] is not None:
                    target = output_path(f, out_dir, options.format)
                    if answer["output_name"] != target.name:  # e.g. an Excel file too long: CSV
                        target = out_dir / answer["output_name"]
                    write_bytes_atomic(target, answer["output"])  # like a local run's outputs
                    result.output = target
            results.append(result)
            state.set_partial_result(result)
            state.set_progress(len(results) / len(files), tr("Scored {file}", file=f.name))
    except BaseException:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        raise
    return results
