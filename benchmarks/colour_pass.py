"""Where the colour pass goes: rasterisation vs shading, by fragment-shader variant (one process, interleaved).

    LP_NUM_THREADS=0 python benchmarks/colour_pass.py --scene ycb_video --randomization off
    LP_NUM_THREADS=0 python benchmarks/colour_pass.py --scene default -- render.pyrender.msaa=false

Draws ``--scenes`` settled scenes once (as a worker draws them), then times only the colour pass (``--clock cpu``:
this thread's CPU time; with ``LP_NUM_THREADS=0`` llvmpipe rasterises in this thread) with pyrender's PBR shader
replaced by variants made from the installed ``mesh.frag``:

- ``stock``: the shader simgen renders with (light loops unrolled for the scene's light counts);
- ``no_texture``: the base-colour texture is not sampled (its fetch, filtering and sRGB decode removed);
- ``lambert``: diffuse only (the specular BRDF removed);
- ``flat``: one constant colour per material: what is left is rasterisation, depth test, MSAA and readback.

The variants take turns per repetition (``--reps``), so a busy machine slows them alike; the table gives the
minimum and median ms per pass and how far each variant's image is from ``stock`` (only the colour-pass cost is
meant to be read off it: the variants are not renderers).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import compose, scene_parser  # noqa: E402

FLAT = """#version 330 core
struct Material { vec3 emissive_factor; vec4 base_color_factor; float metallic_factor; float roughness_factor; };
uniform Material material;
out vec4 frag_color;
void main() { frag_color = material.base_color_factor; }
"""


def variants(stock: str) -> dict[str, str]:
    """Fragment-shader texts by variant name, made from pyrender's mesh.frag (a change there is reported)."""
    tex = "    base_color = base_color * srgb_to_linear(texture(material.base_color_texture, uv_0));"
    brdf = "        vec3 h = normalize(l+v);"
    out = {"stock": stock, "flat": FLAT}
    if tex in stock:
        out["no_texture"] = stock.replace(tex, "")
    if brdf in stock:
        out["lambert"] = stock.replace(brdf, "        return clamp(dot(n, l), 0.001, 1.0) * radiance * c_diff / PI;\n"
                                             + brdf)
    missing = {"no_texture", "lambert"} - set(out)
    if missing:
        print(f"note: this pyrender's mesh.frag differs from the expected text; skipped {sorted(missing)}")
    return out


def main() -> None:
    import numpy as np

    ap = scene_parser(__doc__)
    ap.add_argument("--scenes", type=int, default=8, help="settled scenes, each drawn once per repetition")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="cpu")
    ap.add_argument("overrides", nargs="*", help="extra Hydra overrides after --, e.g. -- render.pyrender.msaa=false")
    a = ap.parse_args()
    clock = time.thread_time if a.clock == "cpu" else time.perf_counter

    import pyrender
    import pyrender.shader_program as sp

    stock_path = Path(pyrender.__file__).parent / "shaders" / "mesh.frag"
    texts = variants(stock_path.read_text())
    tmpdir = tempfile.TemporaryDirectory(prefix="simgen_colour_pass_")  # removed at exit, errors included
    tmp = Path(tmpdir.name)
    files = {}
    for name, text in texts.items():
        files[name] = tmp / f"{name}.frag"
        files[name].write_text(text)
    current: list = [None]
    orig_load = sp.ShaderProgram._load

    def load(self, filename):  # the variant's text, then simgen's own edits (static light loops) as usual
        if current[0] is not None and filename.endswith("mesh.frag"):
            return orig_load(self, str(current[0]))
        return orig_load(self, filename)

    sp.ShaderProgram._load = load
    cfg = compose(a.scene, a.randomization, a.ycb, a.width, a.height, a.overrides)
    import simgen.run.worker as pl
    from simgen.renderers.pyrender.patches import static_light_cache as _static_light_cache

    names = list(files)
    with pl.Generator(cfg) as g:
        scenes = [g.make_scene(i, pl.sample_rng(cfg.seed, i)) for i in range(a.scenes)]
        r = g.renderer
        gl = r.info.get("renderer", "?")
        rr = r._r._renderer
        caches = {n: _static_light_cache(lambda: r._scene) for n in names}  # one compiled program set each
        times: dict[str, list[float]] = {n: [] for n in names}
        images: dict[str, list] = {n: [] for n in names}
        for rep in range(a.reps + 1):  # repetition 0 compiles the programs and keeps the images
            k = rep % len(names)
            for n in names[k:] + names[:k]:
                current[0], rr._program_cache = files[n], caches[n]
                t = 0.0
                for s in scenes:
                    r._set_scene(s)
                    t0 = clock()
                    rgb, _ = r._r.render(r._scene)
                    t += clock() - t0
                    if rep == 0:
                        images[n].append(np.array(rgb))
                if rep > 0:
                    times[n].append(1000.0 * t / len(scenes))
    sp.ShaderProgram._load = orig_load
    tmpdir.cleanup()
    ref = np.stack(images["stock"]).astype(np.int16)
    base = float(np.median(times["stock"]))
    print(f"\nscene={a.scene} randomization={a.randomization} {a.width}x{a.height} {' '.join(a.overrides)} "
          f"GL: {gl} LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS', '(default)')} clock={a.clock} "
          f"scenes={a.scenes} reps={a.reps}\n")
    print("| shader | colour pass ms (min, median) | share of stock | pixels differing from stock |")
    print("|---|---|---|---|")
    for n in names:
        ts = np.array(times[n])
        diff = np.abs(np.stack(images[n]).astype(np.int16) - ref).max(-1)
        print(f"| {n} | {ts.min():.1f}, {np.median(ts):.1f} | {100 * np.median(ts) / base:.0f}% | "
              f"{100 * (diff > 0).mean():.1f}% |")


if __name__ == "__main__":
    main()
