"""Resume under kill -9: a real `simgen render` killed mid-run finishes on restart without re-rendering finished
shards, with the same bytes as an uninterrupted run; stale temp files, a merge killed half-way, a marker whose
images are gone and a concurrent second run are all handled."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.gl


def _children(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(p.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")  # a zombie is dead (nobody reaped it yet)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_mid_run_then_resume_gives_the_same_bytes(reference, compose_cfg, hashes, tmp_path, tiny_overrides):
    from simgen.run.job import render_dataset
    from simgen.run.shard import shard_path

    ref_dir, ref = reference
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "simgen.cli.main", "render", *tiny_overrides, f"output_dir={out}", "workers=2"]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    markers = []
    deadline = time.time() + 240
    try:
        while time.time() < deadline and p.poll() is None:
            markers = sorted((out / ".simgen" / "shards").glob("shard_*.json")) if out.is_dir() else []
            if markers:
                break
            time.sleep(0.02)
        kids = _children(p.pid)
        assert p.poll() is None, f"the run ended before it could be killed: {p.stderr.read()[-2000:]}"
        os.kill(p.pid, signal.SIGKILL)  # the parent only: its pool workers must not outlive it
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert kids, "expected pool worker processes (workers=2)"
    t_end = time.time() + 20
    while time.time() < t_end and any(_alive(k) for k in kids):
        time.sleep(0.1)
    assert not any(_alive(k) for k in kids), "pool workers outlived the killed parent"
    assert not (out / "manifest.json").exists()

    done = sorted(int(m.stem.split("_")[1]) for m in (out / ".simgen" / "shards").glob("shard_*.json"))
    assert 1 <= len(done) < 4
    finished_files = {}
    for k in done:
        for e in json.loads(shard_path(out, k).read_text())["images"]:
            st = (out / "images" / e["file_name"]).stat()
            finished_files[e["file_name"]] = (st.st_ino, st.st_mtime_ns)

    res = render_dataset(compose_cfg(tiny_overrides + [f"output_dir={out}"]))
    assert res["images"] == 8
    assert hashes(out) == ref
    for name, before in finished_files.items():  # finished shards were not rendered again
        st = (out / "images" / name).stat()
        assert (st.st_ino, st.st_mtime_ns) == before, name
    leftovers = [q for q in out.rglob(".*.tmp*")]
    assert not leftovers
    coco = json.loads((out / "annotations.json").read_text())
    assert [e["id"] for e in coco["images"]] == list(range(1, 9))
    assert [a["id"] for a in coco["annotations"]] == list(range(1, len(coco["annotations"]) + 1))


def test_merge_killed_between_annotations_and_manifest(reference, compose_cfg, hashes, tmp_path, tiny_overrides):
    """All shards done, annotations.json written, killed before manifest.json (+ temp files of the kill)."""
    from simgen.run.job import render_dataset

    ref_dir, ref = reference
    out = tmp_path / "merge"
    shutil.copytree(ref_dir, out)
    (out / "manifest.json").unlink()
    (out / "preview.png").unlink()
    (out / ".manifest.json.tmp4242").write_text('{"half": ')
    (out / ".annotations.json.tmp4242").write_text("[")
    (out / "images" / ".000007.png.tmp4242").write_bytes(b"\x89PNG half")
    res = render_dataset(compose_cfg(tiny_overrides + [f"output_dir={out}"]))
    assert res["images"] == 8
    assert hashes(out) == ref  # incl. manifest.json (GL info, counts) although nothing was rendered this time
    assert not list(out.rglob(".*.tmp*"))
    assert json.loads((out / ".simgen" / "timing.json").read_text())["rendered"] == 0


def test_marker_whose_images_are_gone_is_rendered_again(reference, compose_cfg, hashes, tmp_path, tiny_overrides):
    from simgen.run.job import render_dataset
    from simgen.run.shard import shard_path

    ref_dir, ref = reference
    out = tmp_path / "lost"
    shutil.copytree(ref_dir, out)
    (out / "manifest.json").unlink()
    (out / "images" / "000003.png").unlink()  # shard 1 = images 3, 4
    shard_path(out, 2).write_text('{"shard": 2, "images": [')  # unreadable marker
    # a shard killed before its marker's rename, one image already replaced by a bad write
    shard_path(out, 3).unlink()
    (out / "images" / "000008.png").write_bytes(b"garbage")
    render_dataset(compose_cfg(tiny_overrides + [f"output_dir={out}"]))
    assert hashes(out) == ref


def test_a_second_live_run_on_the_same_folder_is_refused(reference, compose_cfg, tmp_path, tiny_overrides):
    import fcntl

    from simgen.run.job import render_dataset
    from simgen.errors import OutputError

    ref_dir, _ = reference
    out = tmp_path / "busy"
    shutil.copytree(ref_dir, out)
    (out / "manifest.json").unlink()
    fd = os.open(out / ".simgen" / "lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another live run holds it
        os.pwrite(fd, b"777", 0)
        with pytest.raises(OutputError, match="another running simgen"):
            render_dataset(compose_cfg(tiny_overrides + [f"output_dir={out}"]))
    finally:
        os.close(fd)  # that run dies: the lock goes with it
    render_dataset(compose_cfg(tiny_overrides + [f"output_dir={out}"]))
    assert (out / "manifest.json").is_file()


def test_overwrite_builds_aside_so_a_failure_leaves_the_old_dataset(reference, compose_cfg, hashes, tmp_path,
                                                                     tiny_overrides, monkeypatch):
    """overwrite=true renders the replacement aside: a run that fails half-way leaves the old dataset byte for
    byte; the same command again resumes the replacement and swaps it in; a swap killed half-way is finished by
    the next start."""
    import simgen.run.output as output
    import simgen.run.shard as shard
    from simgen.errors import OutputError
    from simgen.run.job import render_dataset

    ref_dir, ref = reference
    out = tmp_path / "ow"
    shutil.copytree(ref_dir, out)
    new_cfg = compose_cfg(tiny_overrides + [f"output_dir={out}", "overwrite=true", "seed=9"])
    real = shard.write_sample

    def failing(o, sample, *a):
        if sample.index == 3:
            raise OutputError("cannot write: disk full; free disk space")
        return real(o, sample, *a)

    monkeypatch.setattr(shard, "write_sample", failing)
    with pytest.raises(OutputError, match="disk full"):
        render_dataset(new_cfg)
    assert hashes(out) == ref  # the old dataset, untouched
    assert (out / ".simgen" / "next" / ".simgen" / "shards" / "shard_00000.json").is_file()  # progress kept aside
    monkeypatch.setattr(shard, "write_sample", real)

    moves = {"n": 0}
    real_replace = os.replace

    def dying_replace(a, b):  # the process dies in the middle of the swap
        moves["n"] += 1
        if moves["n"] == 4:
            raise KeyboardInterrupt
        return real_replace(a, b)

    monkeypatch.setattr(output.os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        render_dataset(new_cfg)
    monkeypatch.setattr(output.os, "replace", real_replace)
    fresh = tmp_path / "fresh"
    render_dataset(compose_cfg(tiny_overrides + [f"output_dir={fresh}", "seed=9"]))
    render_dataset(new_cfg)  # finishes the swap (journal), then finds the dataset finished... with overwrite: again
    assert hashes(out) == hashes(fresh)
    assert not (out / ".simgen" / "next").exists() and not (out / ".simgen" / "swap.json").exists()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL")
def test_cli_kill_9_after_two_shards_then_same_command_again(tmp_path):
    """The issue's scenario verbatim: `simgen render` (30 images, shards of 2) killed with SIGKILL once >= 2 shard
    markers exist, the same command run again: it finishes, ids 1..N without duplicates, the same bytes as an
    uninterrupted run. Then a finished dataset whose manifest.json is gone (killed between annotations.json and
    manifest.json) finishes again on the same command."""
    import hashlib

    n = 30
    common = [f"n_images={n}", "shard_size=2", "render.width=160", "render.height=120", "export.depth=false"]

    def sha(root: Path) -> dict:
        files = sorted((root / "images").glob("*")) + [root / "annotations.json", root / "manifest.json"]
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}

    def cmd(out: Path) -> list[str]:
        return [sys.executable, "-m", "simgen.cli.main", "render", *common, f"output_dir={out}", "workers=2"]

    ref = tmp_path / "ref"
    r = subprocess.run(cmd(ref), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]

    out = tmp_path / "killed"
    p = subprocess.Popen(cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and p.poll() is None:
            if len(list((out / ".simgen" / "shards").glob("shard_*.json"))) >= 2:
                break
            time.sleep(0.02)
        assert p.poll() is None, "the run ended before 2 shards were done"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert not (out / "manifest.json").exists()
    r = subprocess.run(cmd(out), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    coco = json.loads((out / "annotations.json").read_text())
    assert [e["id"] for e in coco["images"]] == list(range(1, n + 1))
    ann_ids = [a["id"] for a in coco["annotations"]]
    assert len(set(ann_ids)) == len(ann_ids)
    assert sha(out) == sha(ref)

    (out / "manifest.json").unlink()  # as if killed between annotations.json and manifest.json
    r = subprocess.run(cmd(out), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "finished dataset" not in r.stderr
    assert sha(out) == sha(ref)
