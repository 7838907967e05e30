"""workers=1, workers=2 (local process pool) and executor=ray render the same bytes; progress is per sample."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gl


def test_progress_settles_per_shard_whatever_the_message_order():
    from simgen.launch.local import ShardProgress

    class P:
        done = 0

        def update(self, n=1):
            self.done += n

    p = P()
    sp = ShardProgress(p)
    sp.sample(0, 1)
    sp.shard_done(0, 2)  # one message of shard 0 still in flight
    sp.sample(0, 1)  # ... arrives late: ignored
    sp.shard_done(1, 2)  # shard 1's messages all late
    sp.sample(1, 1)
    sp.sample(2, 1)
    sp.sample(2, 1)
    sp.shard_done(2, 2)
    assert p.done == 6


def test_workers_2_same_bytes_and_progress_per_sample(reference, compose_cfg, hashes, tmp_path, tiny_overrides,
                                                      monkeypatch):
    import simgen.launch.local as local
    from simgen.run.job import render_dataset

    updates = []

    class Spy(local.Progress):
        def update(self, n=1):
            updates.append(n)
            super().update(n)

    monkeypatch.setattr(local, "Progress", Spy)
    ref_dir, ref = reference
    out = tmp_path / "w2"
    cfg = compose_cfg(tiny_overrides + [f"output_dir={out}", "workers=2"])
    render_dataset(cfg)
    assert hashes(out) == ref
    assert sum(updates) == 8
    assert len(updates) >= 6  # per sample (a late message is settled at its shard's end), not 4 per-shard jumps


def test_shard_order_in_one_process_does_not_change_bytes(reference, compose_cfg, hashes, tmp_path, tiny_overrides,
                                                           monkeypatch):
    """A worker renders whichever shards it is handed, in any order: no state may leak from one sample into the
    next (e.g. a material override left over from the previous sample). Reversed shard order, one process."""
    import simgen.launch as launch
    from simgen.run.job import render_dataset

    real = launch.run_shards
    monkeypatch.setattr(launch, "run_shards",
                        lambda cfg, spec, shards, *a, **k: real(cfg, spec, list(reversed(shards)), *a, **k))
    ref_dir, ref = reference
    out = tmp_path / "reversed"
    render_dataset(compose_cfg(tiny_overrides + [f"output_dir={out}"]))
    assert hashes(out) == ref


def test_synchronous_writes_give_the_same_bytes(reference, compose_cfg, hashes, tmp_path, tiny_overrides):
    """export.async_write=false (write in the rendering thread) and the default writer thread: same files."""
    from simgen.run.job import render_dataset

    ref_dir, ref = reference
    out = tmp_path / "sync"
    render_dataset(compose_cfg(tiny_overrides + [f"output_dir={out}", "export.async_write=false"]))
    assert hashes(out) == ref


def test_writer_thread_error_is_raised_and_the_shard_stays_unfinished(compose_cfg, tmp_path, tiny_overrides,
                                                                        monkeypatch):
    import simgen.run.shard as ds
    from simgen.run.job import render_dataset
    from simgen.errors import OutputError

    real, calls = ds.write_sample, []

    def flaky(out, sample, *a):
        calls.append(sample.index)
        if sample.index == 3:
            raise OutputError("cannot write images/000003.png: disk full; free disk space")
        return real(out, sample, *a)

    monkeypatch.setattr(ds, "write_sample", flaky)
    out = tmp_path / "flaky"
    with pytest.raises(OutputError, match="disk full"):
        render_dataset(compose_cfg(tiny_overrides + [f"output_dir={out}"]))
    done = sorted(p.name for p in (out / ".simgen" / "shards").glob("shard_*.json"))
    assert "shard_00001.json" not in done and not (out / "manifest.json").exists()


def test_ray_executor_same_bytes(reference, compose_cfg, hashes, tmp_path, tiny_overrides):
    ray = pytest.importorskip("ray", reason="executor=ray needs the extra: pip install 'simgen[ray]'")
    from simgen.run.job import render_dataset

    ref_dir, ref = reference
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        for write_on in ("driver", "worker"):
            out = tmp_path / f"ray_{write_on}"
            cfg = compose_cfg(tiny_overrides + [f"output_dir={out}", "workers=2", "executor=ray",
                                                f"executor.write_on={write_on}"])
            res = render_dataset(cfg)
            assert res["images"] == 8
            assert hashes(out) == ref, write_on
    finally:
        ray.shutdown()


def test_unknown_executor_fails_clearly(compose_cfg, tmp_path, tiny_overrides):
    from simgen.run.job import render_dataset
    from simgen.errors import ConfigError

    cfg = compose_cfg(tiny_overrides + [f"output_dir={tmp_path / 'x'}"])
    cfg.executor.name = "dask"
    with pytest.raises(ConfigError, match="use one of local, ray"):
        render_dataset(cfg)
    assert not (tmp_path / "x").exists()
