"""Where the time of one labelled image goes, stage by stage (one worker, in-process).

    python benchmarks/profile_stages.py --scene default --n 40
    python benchmarks/profile_stages.py --scene ycb_video --randomization off --n 40
    LP_NUM_THREADS=0 python benchmarks/profile_stages.py --clock cpu --n 60     # CPU ms, robust to other load

Wraps the stages of Generator.generate / write_sample with timers (scene sampling + randomization hooks,
physics settle, colour pass, id pass, silhouette passes for visibility/truncation, label extraction, image-space
effects, PNG encode + write, COCO annotation entries) and prints mean ms per image and the share of each. The first
``--skip`` samples (GL warm-up, first-touch allocations) are left out. ``--cprofile FILE`` also writes a cProfile
of the timed samples.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLOCK = time.perf_counter  # --clock cpu: time.thread_time
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import compose, scene_parser  # noqa: E402,F401  (the CLI's config composition)


class Timers:
    def __init__(self) -> None:
        self.t: dict[str, float] = defaultdict(float)
        self.n: dict[str, int] = defaultdict(int)
        self.on = False

    def wrap(self, obj, name: str, label: str) -> None:
        fn = getattr(obj, name)

        def timed(*a, **k):
            t0 = CLOCK()
            try:
                return fn(*a, **k)
            finally:
                if self.on:
                    self.t[label] += CLOCK() - t0
                    self.n[label] += 1

        setattr(obj, name, timed)


def main() -> None:
    ap = scene_parser(__doc__)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--skip", type=int, default=4)
    ap.add_argument("--cprofile", default=None)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: this thread's CPU time (robust on a shared machine; with LP_NUM_THREADS=0 llvmpipe "
                         "rasterises in this thread, so it is the whole cost)")
    ap.add_argument("overrides", nargs="*", help="extra Hydra overrides, e.g. render.pyrender.msaa=false")
    a = ap.parse_args()
    global CLOCK
    CLOCK = time.thread_time if a.clock == "cpu" else time.perf_counter

    cfg = compose(a.scene, a.randomization, a.ycb, a.width, a.height, a.overrides)
    import simgen.labels.amodal as pl
    import simgen.run.shard as ds
    import simgen.run.worker as wk
    import simgen.export.coco as coco
    from simgen.export import atomic

    T = Timers()
    tmp = Path(tempfile.mkdtemp(prefix="simgen_prof_"))
    (tmp / "images").mkdir()
    with wk.Generator(cfg) as g:
        r = g.renderer
        # physics + scene sampling + randomization hooks
        T.wrap(g.physics, "settle", "physics settle")
        ss = wk

        T.wrap(ss, "sample_scene", "sample scene")
        T.wrap(g.randomizer, "before_physics", "randomize before_physics")
        T.wrap(g.randomizer, "after_physics", "randomize after_physics")
        T.wrap(g.randomizer, "after_render", "randomize after_render (image effects)")
        T.wrap(r, "_set_scene", "render: set scene (poses, lights)")
        orig_render = r._r.render

        def render(scene, flags=None, seg_node_map=None):
            from pyrender.constants import RenderFlags

            label = "render: colour pass" if flags is None else (
                "render: id pass" if seg_node_map and len(seg_node_map) > 1 else "labels: silhouette passes")
            t0 = CLOCK()
            try:
                if flags is None:
                    return orig_render(scene)
                return orig_render(scene, flags=flags, seg_node_map=seg_node_map)
            finally:
                if T.on:
                    T.t[label] += CLOCK() - t0
                    T.n[label] += 1

        r._r.render = render
        T.wrap(pl, "instance_stats", "labels: stats + occlusion + extract")
        T.wrap(pl, "extract", "labels: stats + occlusion + extract")
        T.wrap(atomic, "write_png", "write: PNG encode + write")
        T.wrap(ds, "annotation_entry", "write: COCO entries (polygons)")
        prof = None
        t_all = 0.0
        for i in range(a.n):
            if i == a.skip:
                T.on = True
                if a.cprofile:
                    import cProfile

                    prof = cProfile.Profile()
                    prof.enable()
            t0 = CLOCK()
            s = g.generate(i)
            ds.write_sample(tmp, s, g.categories, cfg)
            if T.on:
                t_all += CLOCK() - t0
        if prof is not None:
            prof.disable()
            prof.dump_stats(a.cprofile)
        gl = r.info
    shutil.rmtree(tmp, ignore_errors=True)
    m = a.n - a.skip
    print(f"scene={a.scene} randomization={a.randomization} {a.width}x{a.height} {' '.join(a.overrides)}")
    print(f"GL: {gl.get('renderer', '?')}  LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS', '(unset)')}  "
          f"load {os.getloadavg()}")
    print(f"{m} images ({a.clock} clock): {1000 * t_all / m:.1f} ms/image = {m / t_all:.2f} img/s (one worker)\n")
    print("| stage | ms/image | calls/image | share |")
    print("|---|---|---|---|")
    known = 0.0
    for k in sorted(T.t, key=lambda k: -T.t[k]):
        known += T.t[k]  # the timed stages do not nest
        print(f"| {k} | {1000 * T.t[k] / m:.1f} | {T.n[k] / m:.2f} | {100 * T.t[k] / t_all:.0f}% |")
    print(f"| other (Python glue, rng, decode, ...) | {1000 * (t_all - known) / m:.1f} | | "
          f"{100 * (t_all - known) / t_all:.0f}% |")


if __name__ == "__main__":
    main()
