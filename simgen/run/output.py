"""The output folder: what it holds, who owns each file, and how a run claims it without losing anything.

simgen deletes or replaces only files it made itself. It knows them from its own records:

- ``.simgen/``: the run state (fingerprint, shard markers, lock, records): all simgen's;
- each shard marker lists the files of its samples (``images/``, ``depth/``, ``instances/``);
- ``.simgen/owned.json`` lists every other file the run writes (``annotations.json``, ``preview.png``, ``yolo/...``),
  recorded before the file is written;
- ``manifest.json`` (written last: it marks the dataset finished) lists every file of the finished dataset.

What a folder may be, and what a run does with it:

=========================  ================================================================================
absent or empty             a new run is made in it
unfinished run, same config resumed (finished shards kept)
unfinished, other config    refused; ``overwrite=true`` removes that run's files (only those) and starts anew
finished dataset            refused; ``overwrite=true`` builds the new dataset aside (``.simgen/next/``) and swaps
                            it in only when it is complete, so a failure leaves the old one byte-identical
anything else (foreign)     refused; ``allow_existing_files=true`` writes beside the foreign files, never over
                            them (a planned file that already exists stops the run before anything is written)
=========================  ================================================================================

The empty path, the filesystem root and the home folder are refused whatever the flags. A run holds an exclusive
``flock`` on ``.simgen/lock`` (the kernel drops it when the process dies, even by ``kill -9``): a second run on the
same folder fails instead of racing it. The swap is journaled (``.simgen/swap.json``): a run killed while swapping
finishes the swap when it starts again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from simgen.errors import OutputError
from simgen.export import atomic
from simgen.export.coco import SHARDS_DIR, STATE_DIR

log = logging.getLogger(__name__)

_LOCK_NAME = "lock"
OWNED_RECORD = f"{STATE_DIR}/owned.json"
STAGING = f"{STATE_DIR}/next"
_SWAP_JOURNAL = f"{STATE_DIR}/swap.json"
_OLD = f"{STATE_DIR}/old"
# temp names of simgen's own atomic writes (.<name>.tmp<pid>) of the files it writes: never a user's file
_TEMP = re.compile(r"^\.(\d{6,}\.png|annotations\.json|manifest\.json|preview\.png|data\.yaml|\d{6,}\.txt)\.tmp\d+$")
_STATE_TEMP = re.compile(r"^\..+\.tmp\d+$")


@dataclass
class Claim:
    """A claimed output folder: ``work`` is where this run writes (``out`` itself, or the staging folder when a
    finished dataset is being replaced); ``lock_fd`` is released by :meth:`release`."""

    out: Path
    work: Path
    lock_fd: Optional[int] = None
    replaces: list[str] = field(default_factory=list)  # owned files of the finished dataset being replaced

    @property
    def staged(self) -> bool:
        return self.work != self.out

    def release(self) -> None:
        _unlock(self.lock_fd)
        self.lock_fd = None


# ---------------------------------------------------------------------- the path itself

def resolve_output_dir(output_dir: Optional[str], scene: str = "scene") -> Path:
    """The output folder as a Path; OutputError for the empty path, the filesystem root and the home folder."""
    raw = "" if output_dir is None else str(output_dir)
    if "${" in raw:  # a config made in Python, not composed by Hydra: the documented default
        from pathlib import PurePath

        stem = PurePath(scene).stem if scene.endswith((".yaml", ".yml")) else PurePath(scene).name
        raw = f"out/{stem or 'scene'}"
    if not raw.strip():
        raise OutputError("output_dir is empty; set output_dir=<a new folder for the dataset> (simgen never writes "
                          "into the current folder by default)")
    out = Path(raw).expanduser()
    full = out.resolve()
    if full == Path(full.anchor) or full == Path.home().resolve():
        raise OutputError(f"output_dir {raw!r} is {'the filesystem root' if full == Path(full.anchor) else 'your home folder'}; "
                          f"choose a folder for the dataset, e.g. output_dir=out/my_dataset")
    if out.exists() and not out.is_dir():
        raise OutputError(f"output_dir {out} is a file; choose a folder path for output_dir")
    return out


# ---------------------------------------------------------------------- what a folder holds

def _read_json(p: Path) -> Optional[dict]:
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return d if isinstance(d, dict) else None


def is_finished(out: Path) -> bool:
    """A finished simgen dataset: its run state and a manifest that simgen wrote."""
    man = _read_json(out / "manifest.json")
    return (out / STATE_DIR).is_dir() and man is not None and "simgen_version" in man


def is_simgen_run(out: Path) -> bool:
    return (out / STATE_DIR / "run.json").is_file() or is_finished(out)


def owned_files(out: Path) -> list[str]:
    """Every file (relative to ``out``, outside ``.simgen/``) that simgen's records say it wrote there."""
    files: set[str] = set()
    man = _read_json(out / "manifest.json")
    if man is not None and "simgen_version" in man:
        files.update(f for f in man.get("files", []) if isinstance(f, str))
        if "files" not in man:  # a dataset of a simgen without file lists: its fixed names
            files.update({"annotations.json", "preview.png"} & {p.name for p in out.iterdir()})
            coco = _read_json(out / "annotations.json") or {}
            for e in coco.get("images", []):
                for key, pre in (("file_name", "images/"), ("depth_file", ""), ("instances_file", "")):
                    if isinstance(e.get(key), str):
                        files.add(pre + e[key])
        files.add("manifest.json")
    rec = _read_json(out / OWNED_RECORD) or {}
    files.update(f for f in rec.get("files", []) if isinstance(f, str))
    for intent in sorted((out / SHARDS_DIR).glob("intent_*.json")):
        files.update(f for f in (_read_json(intent) or {}).get("files", []) if isinstance(f, str))
    for marker in sorted((out / SHARDS_DIR).glob("shard_*.json")):
        d = _read_json(marker) or {}
        for e in d.get("images", []):
            if not isinstance(e, dict):
                continue
            for key, pre in (("file_name", "images/"), ("depth_file", ""), ("instances_file", "")):
                if isinstance(e.get(key), str):
                    files.add(pre + e[key])
    return sorted(f for f in files if _inside(out, f))


def _inside(out: Path, rel: str) -> bool:
    """A relative path that stays inside ``out`` and outside the run state."""
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts or p.parts[0] == STATE_DIR:
        return False
    return True


def record_owned(out: Path, rel_paths: Iterable[str]) -> None:
    """Add files to the run's ownership record (before writing them)."""
    rec = _read_json(out / OWNED_RECORD) or {}
    files = sorted(set(rec.get("files", [])) | set(rel_paths))
    atomic.write_json(out / OWNED_RECORD, {"files": files})


def _foreign_examples(out: Path, n: int = 3) -> list[str]:
    out_list = []
    for p in sorted(out.iterdir()):
        if p.name == STATE_DIR:
            continue
        out_list.append(p.name + ("/" if p.is_dir() else ""))
        if len(out_list) >= n:
            break
    return out_list


def planned_collisions(out: Path, planned: "PlannedFiles") -> list[str]:
    """Files the run would write that already exist in ``out`` (foreign: the folder is not a simgen run)."""
    hits = []
    for name in planned.top:
        if (out / name).exists():
            hits.append(name)
    for d in planned.dirs:
        folder = out / d
        if folder.exists() and not folder.is_dir():
            hits.append(d)
        elif folder.is_dir():
            for p in folder.iterdir():
                if planned.sample_file(p.name):
                    hits.append(f"{d}/{p.name}")
                    if len(hits) > 20:
                        return hits
    return hits


@dataclass
class PlannedFiles:
    """What a run will write: per-sample files ``<dir>/<id:06d>.png`` for ids 1..n in ``dirs``, and ``top``."""

    n_images: int
    dirs: tuple[str, ...]
    top: tuple[str, ...]

    def sample_file(self, name: str) -> bool:
        m = re.fullmatch(r"(\d{6,})\.png", name)
        return bool(m) and 1 <= int(m.group(1)) <= self.n_images


# ---------------------------------------------------------------------- claiming

def claim_output(out: Path, fp: str, overwrite: bool, allow_existing: bool, planned: PlannedFiles) -> Claim:
    """Decide what the run does with ``out`` (see the module docstring), take its lock, and return where to
    write. Nothing is written before every check has passed."""
    state = "absent"
    for name in ("images", "depth", "instances", "yolo", STATE_DIR):
        if (out / name).is_symlink():
            raise OutputError(f"{out / name} is a symbolic link; simgen writes its files only into real folders "
                              f"inside output_dir: replace the link by a folder or choose another output_dir")
    if out.is_dir():
        if (out / _SWAP_JOURNAL).is_file():  # a swap killed half-way: finish it first
            lock = _lock_output(out)
            try:
                _finish_swap(out)
            finally:
                _unlock(lock)
        if is_finished(out):
            state = "finished"
        elif is_simgen_run(out):
            state = "unfinished"
        elif any(p.name != STATE_DIR for p in out.iterdir()):
            state = "foreign"
        else:
            state = "empty"
    if state == "foreign":
        if not allow_existing:
            raise OutputError(f"output_dir {out} holds files simgen did not make ({', '.join(_foreign_examples(out))}"
                              f"...); choose a new or empty folder, or pass allow_existing_files=true to write the "
                              f"dataset beside them (simgen never deletes or replaces them)")
        hits = planned_collisions(out, planned)
        if hits:
            raise OutputError(f"output_dir {out} already holds {hits[0]}"
                              f"{f' and {len(hits) - 1} more planned files' if len(hits) > 1 else ''}, which the "
                              f"dataset would overwrite; move them away or choose another output_dir")
    if state == "finished" and not overwrite:
        raise OutputError(f"output_dir {out} already holds a finished dataset; pass overwrite=true to replace it "
                          f"(only simgen's files; the new one is built aside and swapped in when complete) or "
                          f"choose another output_dir")
    if state == "unfinished" and not overwrite:
        prev = (_read_json(out / STATE_DIR / "run.json") or {}).get("fingerprint")
        if prev != fp:
            raise OutputError(f"output_dir {out} holds an unfinished run with a different config; pass "
                              f"overwrite=true to discard it, or rerun with the same config to resume")
    lock_fd = _lock_output(out)
    claim = Claim(out=out, work=out, lock_fd=lock_fd)
    try:
        if state == "finished":
            claim.work = out / STAGING
            claim.replaces = owned_files(out)
            staged_fp = (_read_json(claim.work / STATE_DIR / "run.json") or {}).get("fingerprint")
            if claim.work.exists() and staged_fp != fp:
                shutil.rmtree(claim.work)  # an earlier replacement with another config: ours, discard it
        elif state == "unfinished":
            prev = (_read_json(out / STATE_DIR / "run.json") or {}).get("fingerprint")
            if prev != fp:  # overwrite=true: remove exactly that run's files
                remove_owned(out, owned_files(out))
                _reset_state(out)
        _prepare_work(claim.work, fp)
    except BaseException:
        claim.release()
        raise
    return claim


def _prepare_work(work: Path, fp: str) -> None:
    _remove_stale_temp_files(work)
    try:
        (work / SHARDS_DIR).mkdir(parents=True, exist_ok=True)
        (work / "images").mkdir(exist_ok=True)
        probe = work / STATE_DIR / f".probe{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"output_dir {work} is not writable ({exc.strerror}); choose a writable output_dir"
                          ) from None
    state = work / STATE_DIR / "run.json"
    if not state.is_file():
        atomic.write_json(state, {"fingerprint": fp})


def _reset_state(out: Path) -> None:
    """Remove the run state except the lock we hold."""
    d = out / STATE_DIR
    if d.is_dir():
        for q in d.iterdir():
            if q.name == _LOCK_NAME:
                continue
            shutil.rmtree(q) if q.is_dir() and not q.is_symlink() else q.unlink()


def remove_owned(out: Path, files: Iterable[str]) -> None:
    """Delete ``files`` (relative, simgen's) from ``out``, then the folders they leave empty (never a folder that
    still holds anything). The manifest goes first, so a dataset half removed is never taken as finished."""
    files = sorted(set(files), key=lambda f: (f != "manifest.json", f))
    dirs: set[Path] = set()
    for rel in files:
        p = out / rel
        if p.is_symlink() or p.is_file():
            p.unlink()
        parent = p.parent
        while parent != out and out in parent.parents:
            dirs.add(parent)
            parent = parent.parent
    for d in sorted(dirs, key=lambda d: len(d.parts), reverse=True):
        try:
            d.rmdir()  # only if empty
        except OSError:
            pass


# ---------------------------------------------------------------------- swapping a finished replacement in

def swap_in(claim: Claim, new_files: list[str]) -> None:
    """Replace the old dataset's files by the staged run's (journaled; see :func:`_finish_swap`)."""
    out = claim.out
    atomic.write_json(out / _SWAP_JOURNAL, {"old": claim.replaces, "new": sorted(new_files)})
    _finish_swap(out)


def _finish_swap(out: Path) -> None:
    """Complete a journaled swap (idempotent): old files aside, staged files in, the staged run state becomes the
    folder's, then the leftovers go."""
    j = _read_json(out / _SWAP_JOURNAL)
    if j is None:
        return
    work = out / STAGING
    old_dir = out / _OLD
    new = [f for f in j.get("new", []) if _inside(out, f)]
    if "manifest.json" in new:  # the new dataset is finished only when all of it is in place
        new = [f for f in new if f != "manifest.json"] + ["manifest.json"]
    # the old dataset is no longer finished from here on
    if (out / "manifest.json").is_file() and (work / "manifest.json").is_file():
        (old_dir).mkdir(parents=True, exist_ok=True)
        os.replace(out / "manifest.json", old_dir / "manifest.json")
    for rel in j.get("old", []):
        if not _inside(out, rel) or rel == "manifest.json":
            continue
        src = out / rel
        if src.is_file() or src.is_symlink():
            dst = old_dir / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    for rel in new:
        src = work / rel
        if src.is_file():
            dst = out / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    # the staged run state (fingerprint, shard markers, ownership record) becomes the folder's
    staged_state = work / STATE_DIR
    if staged_state.is_dir():
        for q in list((out / STATE_DIR).iterdir()):
            if q.name in (_LOCK_NAME, "next", "old", "swap.json"):
                continue
            shutil.rmtree(q) if q.is_dir() and not q.is_symlink() else q.unlink()
        for q in staged_state.iterdir():
            if q.name != _LOCK_NAME:
                os.replace(q, out / STATE_DIR / q.name)
    remove_owned(out, [f for f in j.get("old", []) if f not in new and _inside(out, f)])  # already moved: no-op
    shutil.rmtree(old_dir, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    (out / _SWAP_JOURNAL).unlink()


# ---------------------------------------------------------------------- the lock

def _lock_output(out: Path) -> Optional[int]:
    """Take ``out/.simgen/lock`` (exclusive, non-blocking flock); OutputError if a live run holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        return None
    try:
        (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
        fd = os.open(out / STATE_DIR / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"output_dir {out} is not writable ({exc.strerror}); choose a writable output_dir"
                          ) from None
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
    except OSError as exc:  # the pid is only for the message of a second run
        log.debug("could not record the pid in the lock file: %s", exc)
    return fd


def _unlock(fd: Optional[int]) -> None:
    if fd is not None:
        try:
            os.close(fd)  # releases the flock
        except OSError as exc:
            log.debug("closing the lock: %s", exc)


def _remove_stale_temp_files(out: Path) -> None:
    """Temp files of writes that a killed run left behind (``.<name>.tmp<pid>``, simgen's pattern) in the folders
    simgen writes; never a finished file."""
    if not out.is_dir():
        return
    for d in (out, out / "images", out / "depth", out / "instances", out / STATE_DIR, out / SHARDS_DIR,
              *[p for p in (out / "yolo").glob("**/") if p.is_dir()]):
        if d.is_dir():
            pattern = _STATE_TEMP if STATE_DIR in d.relative_to(out).parts else _TEMP
            for p in d.iterdir():
                if pattern.match(p.name) and p.is_file():
                    p.unlink()
