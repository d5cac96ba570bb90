"""A real Triton server for the tests: the tritonserver binary that nvidia-pytriton ships, run from the separate
test environment (.venv-triton, `make triton-env`) on 127.0.0.1 as its own process group.

It loads the repository `python -m edgeattn.serve export --backend python` wrote, so Triton itself parses our
config.pbtxt (tensors, max_batch_size, dynamic_batching, instance_group, parameters) and its Python backend runs
the bundle's model.onnx on ONNX Runtime. pytriton's own Python API is not used: it would write its own config.

Binaries are laid out the way pytriton lays them out (a copy of its tritonserver folder with the Python backend
stub of the environment's Python version, the wheel's bundled libraries on LD_LIBRARY_PATH, the environment's bin/
first on PATH so the stub finds that environment's numpy and onnxruntime).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TritonServer", "start_triton", "stop_triton", "triton_server", "free_port"]

_PROBE = ("import json, os, sys, sysconfig, pytriton; print(json.dumps({'pkg': os.path.dirname(pytriton.__file__), "
          "'version': '%d.%d' % sys.version_info[:2], 'purelib': sysconfig.get_paths()['purelib']}))")


@dataclass
class TritonServer:
    process: subprocess.Popen
    http_port: int
    grpc_port: int
    log: Path

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def log_tail(self, lines: int = 5) -> str:
        """Triton's error lines (E<date> ...: why a model did not load) and the last `lines` lines."""
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        errors = [line for line in text if line.startswith("E") or "UNAVAILABLE" in line]
        return "\n".join(errors + text[-lines:])

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.http_url}/v2/health/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _layout(python: Path, workdir: Path) -> tuple[Path, dict[str, str]]:
    probe = subprocess.run([str(python), "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True)
    info = json.loads(probe.stdout)
    dist = Path(info["pkg"]) / "tritonserver"
    server = workdir / "tritonserver"
    shutil.copytree(dist, server, ignore=shutil.ignore_patterns("python_backend_stubs"))
    stub = dist / "python_backend_stubs" / info["version"] / "triton_python_backend_stub"
    shutil.copy2(stub, server / "backends" / "python" / "triton_python_backend_stub")
    env = dict(os.environ)
    libs = str(Path(info["purelib"]) / "nvidia_pytriton.libs")
    env["LD_LIBRARY_PATH"] = f"{env['LD_LIBRARY_PATH']}:{libs}" if env.get("LD_LIBRARY_PATH") else libs
    env["PATH"] = f"{Path(python).parent}:{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)  # the stub must see the Triton environment only, not this checkout
    env["OMP_NUM_THREADS"] = "1"
    return server, env


def _die_with_parent() -> None:  # runs in the child before exec
    """Linux: SIGTERM the server when the test process dies without running its finally (e.g. SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_triton(python: Path, repository: Path, workdir: Path, timeout_s: float = 120.0,
                 models: tuple[str, ...] = ()) -> TritonServer:
    """Start tritonserver on free loopback ports and wait until it and `models` are ready (or raise)."""
    server, env = _layout(python, workdir)
    last = ""
    for _attempt in range(3):  # a port taken between free_port() and bind: try other ports
        http, grpc = free_port(), free_port()
        log = workdir / f"tritonserver-{http}.log"
        cmd = [str(server / "bin" / "tritonserver"), f"--model-repository={repository}",
               f"--backend-directory={server / 'backends'}", "--http-address=127.0.0.1", f"--http-port={http}",
               "--grpc-address=127.0.0.1", f"--grpc-port={grpc}", "--allow-metrics=false",
               "--allow-gpu-metrics=false", "--strict-model-config=true", "--exit-timeout-secs=5"]
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir,
                                    start_new_session=True, preexec_fn=_die_with_parent)
        ts = TritonServer(proc, http, grpc, log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and proc.poll() is None:
            if ts.ready() and all(_model_ready(ts, m) for m in models):
                return ts
            time.sleep(0.25)
        status = proc.poll()
        last = (f"exited with status {status}" if status is not None else f"not ready after {timeout_s:.0f} s") + \
            "; log tail:\n" + ts.log_tail()
        stop_triton(ts)
        if "already in use" not in last:
            break
    raise RuntimeError(f"tritonserver did not start: {last}")


def _model_ready(ts: TritonServer, model: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{ts.http_url}/v2/models/{model}/ready", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def stop_triton(ts: TritonServer, grace_s: float = 15.0) -> None:
    """SIGTERM the whole process group (tritonserver and its Python backend stubs), SIGKILL what is left."""
    pgid = ts.process.pid  # start_new_session: the group id is the server's pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        ts.process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)  # stubs that outlived the server, or a server that would not stop
    with contextlib.suppress(subprocess.TimeoutExpired):
        ts.process.wait(timeout=5)


@contextlib.contextmanager
def triton_server(python: Path, repository: Path, workdir: Path,
                  models: tuple[str, ...] = ()) -> Iterator[TritonServer]:
    ts = start_triton(python, repository, workdir, models=models)
    try:
        yield ts
    finally:
        stop_triton(ts)
