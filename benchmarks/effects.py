"""Cost of the image-space effects (``Randomizer.after_render``: backdrop composite, weather, sensor) per call.

    python benchmarks/effects.py                                   # default scene, moderate, 640x480
    python benchmarks/effects.py --cache /tmp/frames.pkl           # render once, reuse the frames next time
    PYTHONPATH=/path/to/old/checkout python benchmarks/effects.py --cache /tmp/frames.pkl   # before/after
    python benchmarks/effects.py --cache /tmp/frames.pkl --dump /tmp/effects_check/new    # PNGs + arrays

Renders ``--frames`` real frames of the scene once (``simgen.run.worker.Generator``, config composed as
`simgen render` composes it), keeping what ``after_render`` receives (frame, scene, instances). Then, on those
frames, times every weather kind forced (``kind`` = const), the sensor with each combination of defocus / motion
blur / shot noise forced on or off (JPEG off; JPEG on separately), and the backdrop composite (a synthetic backdrop
image, since the presets have no ``image_dir``). Each number is the mean over the frames of the best of
``--reps`` calls (the machine is shared: the best of several beats noise). Prints a markdown table with

* ms per call of each kind,
* the expected ms/image under the preset's probabilities (weather kind choice, sensor branch probabilities,
  JPEG probability; the composite counts only when the preset has an ``image_dir``),
* the measured mean of the real ``after_render`` over ``--n`` sample indices (frames reused cyclically, each index
  with its own sample generator, so the kinds drawn follow the preset; best of ``--reps`` per index).

OpenCV runs on ``--cv-threads`` threads (default 1: the cost on one core, as with one worker per core).
``--dump DIR`` writes, for the first frame, the clean image and each forced kind as PNG and all outputs in
``effects.npz`` (to compare two checkouts by eye and by statistics).
"""

from __future__ import annotations

import copy
import os
import pickle
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import compose, scene_parser  # noqa: E402  (the CLI's config composition)

WEATHER_KINDS = ["fog", "haze", "rain", "snow", "low_light"]


def render_frames(cfg, n: int) -> list[dict]:
    """What after_render receives for samples 0..n-1: {'frame', 'scene', 'instances', 'index'}."""
    import simgen.run.worker as pl

    got: list[dict] = []
    with pl.Generator(cfg) as g:
        orig = g.randomizer.after_render

        def capture(frame, scene, instances, rng):
            got.append({"frame": copy.deepcopy(frame), "scene": copy.deepcopy(scene),
                        "instances": copy.deepcopy(instances)})
            return orig(frame, scene, instances, rng)

        g.randomizer.after_render = capture
        for i in range(n):
            g.generate(i)
            got[-1]["index"] = i
    return got


def best_of(reps: int, make, call) -> float:
    """Seconds of the fastest of ``reps`` calls ``call(*make())`` (``make`` runs outside the timer)."""
    t = np.inf
    for _ in range(reps):
        args = make()
        t0 = time.perf_counter()
        call(*args)
        t = min(t, time.perf_counter() - t0)
    return t


def const(v):
    from simgen.randomize.schema import Dist

    return Dist("const", value=v)


def p_const(d) -> float:
    """Probability given by a Dist (its value when const, else the middle of its range)."""
    lo, hi = d.bounds()
    return 0.5 * (lo + hi)


def sensor_cases(scfg):
    """(name, config, probability under the preset) for the 8 blur/shot combinations, JPEG off."""
    pd, pm, ps = (p_const(scfg.defocus_probability), p_const(scfg.motion_blur_probability),
                  p_const(scfg.shot_noise_probability))
    out = []
    for d in (0, 1):
        for m in (0, 1):
            for s in (0, 1):
                name = "+".join([x for x, on in (("defocus", d), ("motion", m), ("shot", s)) if on]) or "plain"
                c = replace(scfg, defocus_probability=const(float(d)), motion_blur_probability=const(float(m)),
                            shot_noise_probability=const(float(s)), jpeg_probability=const(0.0))
                p = (pd if d else 1 - pd) * (pm if m else 1 - pm) * (ps if s else 1 - ps)
                out.append((name, c, p))
    return out


def make_backdrop(tmp: Path) -> str:
    import cv2

    rng = np.random.default_rng(0)
    img = cv2.resize(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), (1280, 960), interpolation=cv2.INTER_CUBIC)
    path = str(tmp / "backdrop.jpg")
    cv2.imwrite(path, img)
    return path


def main() -> None:
    ap = scene_parser(__doc__)
    ap.add_argument("--frames", type=int, default=6, help="frames rendered (and effects timed on)")
    ap.add_argument("--reps", type=int, default=5, help="best of this many calls")
    ap.add_argument("--n", type=int, default=120, help="sample indices of the real after_render mean")
    ap.add_argument("--cache", default=None, help="pickle of the rendered frames (made when missing)")
    ap.add_argument("--cv-threads", type=int, default=1)
    ap.add_argument("--dump", default=None, help="write PNGs and effects.npz of the first frame here")
    ap.add_argument("overrides", nargs="*", help="extra Hydra overrides")
    a = ap.parse_args()

    import cv2

    cv2.setNumThreads(a.cv_threads)
    cfg = compose(a.scene, a.randomization, a.ycb, a.width, a.height, a.overrides)
    if a.cache and Path(a.cache).is_file():
        frames = pickle.loads(Path(a.cache).read_bytes())
    else:
        frames = render_frames(cfg, a.frames)
        if a.cache:
            Path(a.cache).write_bytes(pickle.dumps(frames))
    frames = frames[: a.frames]

    import simgen
    from simgen.run.worker import resolve_scene, sample_rng
    from simgen.randomize.families import background, sensor, weather
    from simgen.randomize.pipeline import Randomizer
    from simgen.core.rngs import family_rng
    from simgen.randomize.schema import FAMILY_TYPES

    spec = resolve_scene(cfg)
    rz = Randomizer.from_config(cfg.randomization, spec)
    R = cfg.randomization
    look_at = spec.camera.look_at
    seed = cfg.seed
    rows: list[tuple[str, float, float]] = []  # (name, ms per call, probability per image)
    outs: dict[str, np.ndarray] = {}

    def frng(i, fam):
        return family_rng(sample_rng(seed, i), FAMILY_TYPES[fam].stream_id, "after_render")

    # ---- weather, each kind forced
    w_probs = dict(zip(R.weather.kind.values, np.asarray(R.weather.kind.p, float) / np.sum(R.weather.kind.p)))
    for kind in WEATHER_KINDS:
        wc = replace(R.weather, kind=const(kind))
        ts = []
        for f in frames:
            sc = copy.deepcopy(f["scene"])
            ts.append(best_of(a.reps, lambda: (f["frame"].rgb, f["frame"].depth, sc, wc, look_at,
                                               frng(f["index"], "weather")), weather.apply))
            if a.dump and f is frames[0]:
                outs[f"weather_{kind}"] = weather.apply(f["frame"].rgb, f["frame"].depth, sc, wc, look_at,
                                                        frng(f["index"], "weather"))
        p = w_probs.get(kind, 0.0) if R.weather.enabled else 0.0
        rows.append((f"weather: {kind}", 1000 * float(np.mean(ts)), p))

    # ---- sensor, each blur/shot combination forced (JPEG off), then JPEG on top of the plain case
    s_p_on = 1.0 if R.sensor.enabled else 0.0
    for name, sc_cfg, p in sensor_cases(R.sensor):
        ts = [best_of(a.reps, lambda: (f["frame"].rgb, sc_cfg, frng(f["index"], "sensor")), sensor.apply)
              for f in frames]
        rows.append((f"sensor: {name}", 1000 * float(np.mean(ts)), p * s_p_on))
        if a.dump:
            outs[f"sensor_{name}"] = sensor.apply(frames[0]["frame"].rgb, sc_cfg, frng(frames[0]["index"], "sensor"))
    plain = sensor_cases(R.sensor)[0][1]
    jp = replace(plain, jpeg_probability=const(1.0))
    t_j = np.mean([best_of(a.reps, lambda: (f["frame"].rgb, jp, frng(f["index"], "sensor")), sensor.apply)
                   for f in frames])
    t_p = np.mean([best_of(a.reps, lambda: (f["frame"].rgb, plain, frng(f["index"], "sensor")), sensor.apply)
                   for f in frames])
    rows.append(("sensor: + JPEG (extra over plain)", 1000 * float(t_j - t_p),
                 p_const(R.sensor.jpeg_probability) * s_p_on))
    # read/shot noise statistics on the first frame: std of (noisy - noise-free), same exposure/gamma draws
    f0 = frames[0]
    quiet = replace(plain, read_noise=const(0.0))
    loud = replace(plain, read_noise=const(2.0))
    ref = sensor.apply(f0["frame"].rgb, quiet, frng(f0["index"], "sensor")).astype(np.float64)
    d_read = sensor.apply(f0["frame"].rgb, loud, frng(f0["index"], "sensor")) - ref
    shot = replace(quiet, shot_noise_probability=const(1.0), photons=const(2000.0))
    d_shot = sensor.apply(f0["frame"].rgb, shot, frng(f0["index"], "sensor")) - ref

    # ---- backdrop composite (with a synthetic backdrop image). A sample makes its backdrop after physics (for the
    # background colour) and composites it after rendering; where the backdrop is cached in between, "cached" is
    # the composite's own cost and "uncached" includes making the backdrop again.
    clear = getattr(getattr(background, "_backdrop", None), "cache_clear", lambda: None)
    with tempfile.TemporaryDirectory() as tmp:
        path = make_backdrop(Path(tmp))
        ts, tu = [], []
        for f in frames:
            sc = copy.deepcopy(f["scene"])
            sc.params["background_image"] = (path, (0.3, 0.6, 0.5, 0.7))
            background.backdrop(path, *f["frame"].depth.shape[::-1], (0.3, 0.6, 0.5, 0.7))  # as after physics
            ts.append(best_of(a.reps, lambda: (f["frame"].rgb, f["frame"].depth, sc), background.composite))
            tu.append(best_of(a.reps, lambda: (clear(), f["frame"].rgb, f["frame"].depth, sc)[1:],
                              background.composite))
            if a.dump and f is frames[0]:
                outs["background_composite"] = background.composite(f["frame"].rgb, f["frame"].depth, sc)
    p_img = p_const(R.background.image_probability) if (R.background.enabled and R.background.image_dir) else 0.0
    rows.append(("background: composite, backdrop cached from after_physics", 1000 * float(np.mean(ts)), p_img))
    rows.append(("background: composite, backdrop made again (not in the expectation)", 1000 * float(np.mean(tu)),
                 0.0))

    # ---- the real after_render over n sample indices
    t_real, kinds = [], {}
    for i in range(a.n):
        f = frames[i % len(frames)]
        sc = copy.deepcopy(f["scene"])
        t_real.append(best_of(a.reps, lambda: (f["frame"], sc, f["instances"], sample_rng(seed, i)),
                              rz.after_render))
        kinds.setdefault(sc.params.get("weather", "-"), []).append(t_real[-1])

    if a.dump:
        d = Path(a.dump)
        d.mkdir(parents=True, exist_ok=True)
        outs["clean"] = frames[0]["frame"].rgb
        outs["depth"] = frames[0]["frame"].depth
        outs["sensor_read_noise_diff"] = d_read
        outs["sensor_shot_noise_diff"] = d_shot
        for k, v in outs.items():
            if v.ndim == 3 and v.dtype == np.uint8:
                cv2.imwrite(str(d / f"{k}.png"), cv2.cvtColor(v, cv2.COLOR_RGB2BGR))
        np.savez_compressed(d / "effects.npz", **outs)

    print(f"scene={a.scene} randomization={a.randomization} {a.width}x{a.height} {' '.join(a.overrides)}; "
          f"{len(frames)} frames, best of {a.reps}, cv2 threads {cv2.getNumThreads()}; "
          f"simgen: {Path(simgen.__file__).parent}; load {tuple(round(x, 2) for x in os.getloadavg())}\n")
    print("| effect | ms/call | p per image | expected ms/image |")
    print("|---|---|---|---|")
    w_exp = s_exp = b_exp = 0.0
    for name, ms, p in rows:
        print(f"| {name} | {ms:.1f} | {p:.3f} | {ms * p:.2f} |")
        if name.startswith("weather"):
            w_exp += ms * p
        elif name.startswith("sensor"):
            s_exp += ms * p
        else:
            b_exp += ms * p
    print(f"| **weather, expected** | | | **{w_exp:.1f}** |")
    print(f"| **sensor, expected** | | | **{s_exp:.1f}** |")
    print(f"| **background composite, expected** | | | **{b_exp:.1f}** |")
    print(f"| **after_render, expected (sum)** | | | **{w_exp + s_exp + b_exp:.1f}** |")
    print(f"| **after_render, measured mean over {a.n} indices** | | | **{1000 * float(np.mean(t_real)):.1f}** |")
    print("\nthe measured after_render by the weather kind drawn (sensor and the rest included): " + ", ".join(
        f"{k} {len(v)}x {1000 * float(np.mean(v)):.1f} ms" for k, v in sorted(kinds.items())))
    print(f"noise on frame 0 (exposure/gamma of its draws): read_noise=2.0 -> std {d_read.std():.3f} "
          f"mean {d_read.mean():+.3f}; shot photons=2000 -> std {d_shot.std():.3f} mean {d_shot.mean():+.3f}")


if __name__ == "__main__":
    main()
