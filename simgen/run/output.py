"""The output folder: claim it (lock), check what it holds (finished dataset, unfinished run), clean temp files."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Optional

from simgen.errors import OutputError
from simgen.export import atomic
from simgen.export.coco import OUTPUT_NAMES, SHARDS_DIR, STATE_DIR

log = logging.getLogger(__name__)

# written by the run besides export.coco.OUTPUT_NAMES (removed by overwrite=true)
_EXTRA_OUTPUT_NAMES = ("yolo",)


def prepare_output(out: Path, fp: str, overwrite: bool) -> Optional[int]:
    """Create/claim ``out``. Finished dataset -> error unless overwrite; unfinished run with the same fingerprint
    -> resume; with another fingerprint -> error unless overwrite.

    Returns the file descriptor of the run's lock (``.simgen/lock``, an exclusive ``flock`` that the kernel
    drops when the process dies, even by ``kill -9``); close it when the run ends. None where locking is
    unsupported. A second run on the same folder while one is alive fails instead of racing it."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"output_dir {out} is a file; choose a folder path for output_dir")
    state = out / STATE_DIR / "run.json"
    lock_fd = _lock_output(out) if out.is_dir() else None
    try:
        if out.is_dir():
            finished = (out / "manifest.json").is_file()
            if finished and not overwrite:
                raise OutputError(f"output_dir {out} already holds a finished dataset; pass overwrite=true to "
                                  f"replace it or choose another output_dir")
            if not finished and state.is_file() and not overwrite:
                try:
                    prev = json.loads(state.read_text()).get("fingerprint")
                except (OSError, ValueError):
                    prev = None
                if prev != fp:
                    raise OutputError(f"output_dir {out} holds an unfinished run with a different config; pass "
                                      f"overwrite=true to discard it, or rerun with the same config to resume")
            if overwrite:
                # manifest first (dataset no longer finished), then the run state with the shard markers, then
                # the data: a kill -9 in between never leaves a shard marker whose images are gone
                names = ["manifest.json", STATE_DIR] + [n for n in OUTPUT_NAMES + _EXTRA_OUTPUT_NAMES
                                                        if n not in ("manifest.json", STATE_DIR)]
                for name in names:
                    p = out / name
                    if name == STATE_DIR and p.is_dir():  # keep the lock we hold
                        for q in p.iterdir():
                            if q.name == _LOCK_NAME:
                                continue
                            shutil.rmtree(q) if q.is_dir() and not q.is_symlink() else q.unlink()
                    elif p.is_dir():
                        shutil.rmtree(p)
                    elif p.exists():
                        p.unlink()
        _remove_stale_temp_files(out)
        try:
            (out / SHARDS_DIR).mkdir(parents=True, exist_ok=True)
            (out / "images").mkdir(exist_ok=True)
            probe = out / STATE_DIR / f".probe{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise OutputError(f"output_dir {out} is not writable ({exc.strerror}); choose a writable output_dir"
                              ) from None
        if lock_fd is None:
            lock_fd = _lock_output(out)
        if not state.is_file():
            atomic.write_json(state, {"fingerprint": fp})
    except BaseException:
        _unlock(lock_fd)
        raise
    return lock_fd


_LOCK_NAME = "lock"


def _lock_output(out: Path) -> Optional[int]:
    """Take ``out/.simgen/lock`` (exclusive, non-blocking flock); OutputError if a live run holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        return None
    try:
        (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
        fd = os.open(out / STATE_DIR / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None  # not writable: prepare_output reports it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip()
        except OSError:
            other = ""
        os.close(fd)
        raise OutputError(f"output_dir {out} is being written by another running simgen "
                          f"({'pid ' + other if other else 'another process'}); wait for it to finish, stop it, "
                          f"or choose another output_dir") from None
    except OSError:  # filesystem without flock (some network filesystems): run unlocked
        os.close(fd)
        log.debug("no flock on %s; running without a lock", out)
        return None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    except OSError:
        pass
    return fd


def _unlock(fd: Optional[int]) -> None:
    if fd is not None:
        try:
            os.close(fd)  # releases the flock
        except OSError:
            pass


def _remove_stale_temp_files(out: Path) -> None:
    """Temp files of writes that a killed run left behind (``.<name>.tmp<pid>``); never a finished file."""
    if not out.is_dir():
        return
    for d in (out, out / "images", out / "depth", out / "instances", out / STATE_DIR, out / SHARDS_DIR,
              *[p for p in (out / "yolo").glob("**/") if p.is_dir()]):
        if d.is_dir():
            for p in d.glob(".*.tmp*"):
                try:
                    p.unlink()
                except OSError:
                    pass
