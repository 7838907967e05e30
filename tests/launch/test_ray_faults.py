"""executor=ray under faults, on a real local two-node Ray cluster (a head and a second node started with
`ray start`, each with its own temp dir and one CPU): killing a render worker process or the whole second node
mid-run still finishes the dataset byte-identical to a local run (the lost shard is retried), and killing the
driver leaves a run that the same command resumes, as with executor=local.

Skips without ray. Small on purpose: 12 images of 160x120 in shards of 2, one CPU per node. Every process this
module kills is one it started (the `ray start` process groups, the CLI driver) or a worker inside those groups.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="executor=ray needs the extra: pip install 'simgen[ray]'")

pytestmark = [pytest.mark.gl, pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, process groups")]

REPO = Path(__file__).resolve().parents[2]
RAY_BIN = Path(sys.executable).with_name("ray")
TINY12 = ["n_images=12", "shard_size=2", "render.width=160", "render.height=120", "export.depth=false",
          "export.preview_n=4"]


def _env() -> dict:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1", "SIMGEN_NO_PROGRESS": "1",
           # a private loopback test cluster: independent of any ~/.ray/auth_token another run left behind
           "RAY_AUTH_MODE": "disabled",
           # the render workers must import this checkout's simgen, not an installed one
           "PYTHONPATH": os.pathsep.join([str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(
               os.pathsep) if p]),
           # notice a dead node within a few seconds (defaults: tens of seconds)
           "RAY_health_check_period_ms": "1000", "RAY_health_check_timeout_ms": "1000",
           "RAY_health_check_failure_threshold": "3"}
    env.pop("SIMGEN_DEBUG", None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_members(sid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes in session ``sid``: a `ray start` started with
    start_new_session=True leads one, and its raylet, agents and workers stay in it (workers get a process group
    of their own, not a session)."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) != sid or fields[0] in ("Z", "X"):
                continue
            cmd = (p / "cmdline").read_bytes().replace(b"\x00", b" ").decode(errors="replace").strip()
        except (OSError, IndexError, ValueError):
            continue
        out.append((int(p.name), cmd))
    return out


def _kill_session(sid: int) -> None:
    for pid, _ in _session_members(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Cluster:
    """A head node and a second node, each a `ray start --block` process leading a session of its own (so all of a
    node's processes can be found and killed together)."""

    def __init__(self) -> None:
        if not RAY_BIN.is_file():
            pytest.skip(f"no `ray` command next to {sys.executable}")
        self.tmp = Path(tempfile.mkdtemp(prefix="sgray", dir="/tmp"))  # short: Ray's unix sockets live under it
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.node2: subprocess.Popen | None = None
        self.head = self._start("head", ["--head", f"--port={self.port}", "--include-dashboard=false",
                                         "--disable-usage-stats"])
        try:
            self.wait_nodes(1)
            self.ensure_node2()
        except BaseException:
            self.stop(keep_logs=True)
            raise

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        (self.tmp / name).mkdir(exist_ok=True)
        log = open(self.tmp / f"{name}.log", "ab")
        return subprocess.Popen([str(RAY_BIN), "start", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=1",
                                 f"--temp-dir={self.tmp / name}", *args], stdout=log, stderr=subprocess.STDOUT,
                                env=_env(), start_new_session=True)

    def alive_nodes(self) -> int:
        code = ("import ray; ray.init(address=%r, log_to_driver=False, logging_level='ERROR'); "
                "print(sum(1 for n in ray.nodes() if n['Alive']))" % self.address)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=60)
        try:
            return int(r.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return 0

    def wait_nodes(self, n: int, timeout: float = 90) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.alive_nodes() == n:
                return
            time.sleep(1)
        raise AssertionError(f"the Ray cluster did not reach {n} live node(s); logs in {self.tmp}")

    def ensure_node2(self) -> None:
        if self.node2 is not None and self.node2.poll() is None:
            return
        self.node2 = self._start("node2", [f"--address={self.address}"])
        self.wait_nodes(2)

    def kill_node2(self) -> None:
        """SIGKILL every process of the second node at once (raylet, agents, workers), as a lost machine."""
        assert self.node2 is not None
        _kill_session(self.node2.pid)
        self.node2.wait(timeout=30)

    def busy_render_workers(self) -> list[int]:
        """pids of the RenderWorker actor processes (either node) that are rendering a shard right now (Ray sets
        the process title to ``ray::RenderWorker.run`` while the task runs)."""
        pids = []
        for proc in (self.head, self.node2):
            if proc is not None:
                pids += [pid for pid, cmd in _session_members(proc.pid) if cmd.startswith("ray::RenderWorker.run")]
        return pids

    def stop(self, keep_logs: bool = False) -> None:
        for proc in (self.node2, self.head):
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        for proc in (self.node2, self.head):
            if proc is not None:
                _kill_session(proc.pid)
        if not keep_logs:
            shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def reference12(tmp_path_factory, compose_cfg, hashes):
    """The 12-image dataset rendered with executor=local, workers=1, in this process."""
    from simgen.run.job import render_dataset

    out = tmp_path_factory.mktemp("ref12") / "ds"
    render_dataset(compose_cfg(TINY12 + [f"output_dir={out}"]))
    return out, hashes(out)


def _driver(cluster: Cluster, out: Path, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "simgen.cli.main", "render", *TINY12, f"output_dir={out}", "executor=ray",
            f"executor.address={cluster.address}", "workers=2", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(),
                            cwd=str(out.parent))


def _wait_first_marker(out: Path, proc: subprocess.Popen, timeout: float = 240) -> list[Path]:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        markers = sorted((out / ".simgen" / "shards").glob("shard_*.json")) if out.is_dir() else []
        if markers:
            return markers
        time.sleep(0.05)
    out_text = proc.stdout.read() if proc.poll() is not None else ""
    raise AssertionError(f"no shard finished before the run ended or timed out: {out_text[-3000:]}")


def _finish(proc: subprocess.Popen, timeout: float = 240) -> str:
    try:
        text, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        text, _ = proc.communicate()
        raise AssertionError(f"the run hung after the fault: {text[-3000:]}")
    assert proc.returncode == 0, text[-3000:]
    return text


def test_killed_worker_process_is_retried_same_bytes(cluster, reference12, hashes, tmp_path):
    cluster.ensure_node2()
    out = tmp_path / "ds"
    proc = _driver(cluster, out)
    _wait_first_marker(out, proc)
    deadline = time.time() + 60
    while not (victims := cluster.busy_render_workers()) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert victims, "no render actor was busy with a shard after the first one finished"
    os.kill(victims[0], signal.SIGKILL)  # mid-shard: that shard is lost with the process
    text = _finish(proc)
    assert "retrying it" in text, text[-3000:]
    assert hashes(out) == reference12[1]


def test_killed_driver_resumes_like_a_local_run(cluster, reference12, hashes, tmp_path):
    cluster.ensure_node2()
    out = tmp_path / "ds"
    proc = _driver(cluster, out)
    _wait_first_marker(out, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert not (out / "manifest.json").exists()
    done = sorted(int(m.stem.split("_")[1]) for m in (out / ".simgen" / "shards").glob("shard_*.json"))
    assert 1 <= len(done) < 6
    before = {}
    for k in done:
        for e in json.loads((out / ".simgen" / "shards" / f"shard_{k:05d}.json").read_text())["images"]:
            st = (out / "images" / e["file_name"]).stat()
            before[e["file_name"]] = (st.st_ino, st.st_mtime_ns)
    _finish(_driver(cluster, out))  # the same command again
    assert hashes(out) == reference12[1]
    for name, ino_mtime in before.items():  # finished shards were not rendered again
        st = (out / "images" / name).stat()
        assert (st.st_ino, st.st_mtime_ns) == ino_mtime, name
    assert not list(out.rglob(".*.tmp*"))


def test_killed_second_node_is_survived_same_bytes(cluster, reference12, hashes, tmp_path):
    """The second node dies with its actor and shard; the replacement actor cannot be placed (the head's one CPU
    is busy), so the head's actor must finish the lost shard: no hang, same bytes."""
    cluster.ensure_node2()
    out = tmp_path / "ds"
    proc = _driver(cluster, out)
    _wait_first_marker(out, proc)
    cluster.kill_node2()
    text = _finish(proc)
    assert hashes(out) == reference12[1]
    assert "lost with its actor" in text or "died while starting" in text, text[-3000:]


def test_actor_setup_error_arrives_as_itself_with_its_fix(compose_cfg, tmp_path):
    """An error in the actor's set-up (e.g. no GL platform) is raised from its calls as the RenderError itself (one
    line with the fix), not as Ray's ActorDiedError text; a task's own error is not retried."""
    from simgen.errors import RenderError
    from simgen.launch.ray import RenderWorker, _task_error
    from simgen.run.worker import resolve_scene

    cfg = compose_cfg(TINY12 + [f"output_dir={tmp_path / 'o'}"])
    cfg.render.pyrender.platform = "directx"
    w = RenderWorker(cfg, resolve_scene(cfg), 1, 30)
    with pytest.raises(RenderError, match="unknown render.pyrender.platform 'directx'"):
        w.gl_info()
    with pytest.raises(RenderError, match="unknown render.pyrender.platform"):
        w.run(None, None)

    class FakeTaskError(Exception):  # what ray.get raises for a task's exception: the original in .cause
        def __init__(self, cause):
            super().__init__("Traceback (most recent call last):\n  ...\n" + str(cause))
            self.cause = cause

    err = RenderError("render failed; fix it")
    assert _task_error(FakeTaskError(err)) is err
    other = _task_error(FakeTaskError(ZeroDivisionError("division by zero")))
    assert isinstance(other, RenderError) and "\n" not in str(other) and "ZeroDivisionError" in str(other)
