"""Physics settle: time per sample, steps, and how well the objects rest (one process, no GL).

    python benchmarks/physics.py --scene default --n 200
    python benchmarks/physics.py --scene default --n 200 --timestep 0.0083333 --max-steps 150
    python benchmarks/physics.py --scene ycb_video --n 100 --ycb ../shared/ycb

Scenes are drawn exactly as a `simgen render` worker draws them (sample_scene + the randomization hooks that act
before physics: pose, distractors), then settled by :class:`simgen.physics.pybullet.PhysicsWorld`. Besides the
time, it reports what a faster settle could cost in quality: the mean and worst penetration between bodies
(pybullet contact distance < 0, in mm), the largest residual speed of any body when the settle stopped, and the
share of samples that ran out of step budget. Scene physics keys can be overridden from the command line
(``--timestep``, ``--max-steps``, ``--solver-iterations``, ``--rest-speed``) to compare settings back to back.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import compose, scene_parser  # noqa: E402  (the CLI's config composition)


def main() -> None:
    ap = scene_parser(__doc__, size=False)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timestep", type=float, default=None)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--solver-iterations", type=int, default=None)
    ap.add_argument("--rest-speed", type=float, default=None)
    ap.add_argument("overrides", nargs="*", help="extra Hydra overrides")
    a = ap.parse_args()

    cfg = compose(a.scene, a.randomization, a.ycb, 640, 480, a.overrides)
    from simgen.physics.pybullet import PhysicsWorld
    from simgen.run.worker import resolve_assets_root, resolve_scene, sample_rng
    from simgen.randomize.pipeline import Randomizer
    from simgen.scene.sampler import sample_scene
    from simgen.scene.catalog import AssetCatalog

    spec = resolve_scene(cfg)
    ph = spec.physics
    kw = {k: v for k, v in (("timestep", a.timestep), ("max_steps", a.max_steps),
                            ("solver_iterations", a.solver_iterations), ("rest_speed", a.rest_speed)) if v is not None}
    spec = replace(spec, physics=replace(ph, **kw))
    root = resolve_assets_root(cfg)
    cat = AssetCatalog.from_spec(spec, root, cfg.render.max_texture_size)
    rz = Randomizer.from_config(cfg.randomization, spec)
    rz.extend_catalog(cat, root)
    times, steps, pen_mean, pen_max, speed, bodies = [], [], [], [], [], []
    with PhysicsWorld() as world:
        import pybullet as p

        for i in range(a.n):
            rng = sample_rng(a.seed + 1000, i)
            scene = sample_scene(spec, cat, rng, 640, 480)
            scene = rz.before_physics(scene, cat, rng)
            t0 = time.thread_time()  # CPU time: robust on a shared machine (pybullet runs in this thread)
            out = world.settle(scene, cat, spec)
            times.append(time.thread_time() - t0)
            steps.append(out.params.get("physics_steps", 0))
            cid = world._client
            n = p.getNumBodies(physicsClientId=cid)
            d = [c[8] for c in p.getContactPoints(physicsClientId=cid)]
            pens = [-x for x in d if x < 0]
            pen_mean.append(float(np.mean(pens)) if pens else 0.0)
            pen_max.append(max(pens) if pens else 0.0)
            v = [p.getBaseVelocity(p.getBodyUniqueId(k, physicsClientId=cid), physicsClientId=cid)
                 for k in range(n)]
            speed.append(max(max(np.linalg.norm(x[0]), 0.05 * np.linalg.norm(x[1])) for x in v))
            bodies.append(len(out.objects))
    t = np.array(times[5:]) * 1000
    budget = spec.physics.max_steps
    print(f"scene={a.scene} randomization={a.randomization} physics={spec.physics} load={os.getloadavg()[0]:.2f}")
    print(f"| CPU ms/sample (mean, median) | steps (mean) | budget hit | bodies | penetration mean / worst mm "
          f"| residual speed p95 / max m/s |")
    print("|---|---|---|---|---|---|")
    print(f"| {t.mean():.1f}, {np.median(t):.1f} | {np.mean(steps):.0f} | "
          f"{100 * np.mean(np.array(steps) >= budget):.0f}% | {np.mean(bodies):.1f} | "
          f"{1000 * np.mean(pen_mean):.2f} / {1000 * np.max(pen_max):.1f} | "
          f"{np.percentile(speed, 95):.3f} / {np.max(speed):.3f} |")


if __name__ == "__main__":
    main()
