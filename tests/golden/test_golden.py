"""Golden hashes: 3 scenes x 2 randomization presets rendered with a fixed seed, every output byte hashed.

The fixture (``golden_hashes.json``) was written before the restructuring of the package and must stay identical
after it (behaviour unchanged: same config + seed = the same bytes). Rendering is exact only on the same GL
implementation, so the fixture records the GL renderer and version it was made with; on another one the test
skips (regenerate with ``python tests/golden/test_golden.py --write`` on purpose, never to make a failure pass).

``alternates`` in the fixture: other complete recordings of a case that the same code makes on another CPU model
with the same GL (``alternates_made_on`` says where). llvmpipe compiles its shaders with LLVM for the host CPU, so
its pixels' last bits can follow the CPU model, which the renderer string does not name (the manifest's ``gl.cpu``
now does): on an AMD EPYC (2026-12-03) images 3 and 4 of metal_parts-strong differ from the recording made on the
machines before it, with depth, instance maps and labels identical; forcing llvmpipe to SSE4.1 code
(``GALLIUM_OVERRIDE_CPU_CAPS=sse4.1``) changes that case's bytes too, while switching off the BLAS kernel's, NumPy's,
OpenCV's and glibc's CPU dispatch does not. Everything before the GL (poses, hulls, cameras) no longer depends on the
CPU (``test_bytes_do_not_depend_on_the_blas_kernel``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "golden_hashes.json"
SCENES = ("default", "metal_parts", "ycb_video")
PRESETS = ("moderate", "strong")
COMMON = ("n_images=4", "shard_size=2", "seed=3", "render.width=160", "render.height=120", "export.depth=true",
          "export.instance_maps=true", "export.preview=false")

pytestmark = [pytest.mark.gl, pytest.mark.slow]


def _shared() -> Path | None:
    p = Path(os.environ.get("SIMGEN_SHARED", HERE.parents[2] / "shared"))
    return p if (p / "ycb" / "models").is_dir() else None


def overrides(scene: str, preset: str, out: Path) -> list[str]:
    o = [f"scene={scene}", f"randomization={preset}", *COMMON, f"output_dir={out}"]
    if scene == "ycb_video":
        o += [f"assets.root={_shared() / 'ycb'}"]
    if scene == "metal_parts" or preset == "strong":
        o += ["randomization/defects=strong"]
    return o


def dataset_hashes(root: Path) -> dict[str, str]:
    """sha256 of every data file (images, depth, instance maps, annotations.json); not manifest.json, which
    records package versions."""
    files = [p for d in ("images", "depth", "instances") for p in sorted((root / d).glob("*.png"))]
    files.append(root / "annotations.json")
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def render_case(compose, scene: str, preset: str, out: Path) -> tuple[dict[str, str], dict]:
    from simgen.run.job import render_dataset

    render_dataset(compose(*overrides(scene, preset, out)))
    gl = json.loads((out / "manifest.json").read_text()).get("gl", {})
    return dataset_hashes(out), gl


def _case_ids():
    return [f"{s}-{p}" for s in SCENES for p in PRESETS]


@pytest.mark.parametrize("case", _case_ids())
def test_golden_bytes(compose_cfg, tmp_path, case):
    if not FIXTURE.is_file():
        pytest.fail(f"{FIXTURE} is missing; write it with python {Path(__file__).name} --write")
    golden = json.loads(FIXTURE.read_text())
    scene, preset = case.split("-")
    if scene == "ycb_video" and _shared() is None:
        pytest.skip("../shared/ycb is absent")
    hashes, gl = render_case(compose_cfg, scene, preset, tmp_path / "out")
    if gl.get("renderer") != golden["gl"].get("renderer") or gl.get("version") != golden["gl"].get("version"):
        pytest.skip(f"golden hashes were made with {golden['gl']}; this GL is {gl}")
    want = golden["cases"][case]
    if any(hashes == alt for alt in golden.get("alternates", {}).get(case, [])):
        return
    diff = sorted(k for k in set(want) | set(hashes) if want.get(k) != hashes.get(k))
    assert not diff, f"{case}: {len(diff)} of {len(want)} files differ from the golden render: {diff[:8]}"


def _openblas_avx512() -> bool:
    import numpy as np

    blas = str(np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {}).get("name", ""))
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    return "openblas" in blas.lower() and " avx512f" in flags


@pytest.mark.skipif(not _openblas_avx512(), reason="needs NumPy on OpenBLAS and an x86 CPU with AVX-512")
def test_bytes_do_not_depend_on_the_blas_kernel(tmp_path):
    """OpenBLAS picks its kernel by CPU, and its AVX-512 kernel rounds products and dot products differently from
    its AVX2 one: when the byte path used ``@``/``np.linalg.norm`` for poses and hulls, the same seed settled other
    poses on an AVX-512 machine (default-strong: 8 of 13 files). Both kernels must give the same bytes."""
    import subprocess

    out = {}
    for kernel in ("Haswell", "SkylakeX"):
        env = {**os.environ, "OPENBLAS_CORETYPE": kernel, "PYOPENGL_PLATFORM": "egl"}
        d = tmp_path / kernel
        code = ("import json, sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; "
                "from conftest import _compose; from test_golden import render_case; "
                "print(json.dumps(render_case(_compose, 'default', 'strong', __import__('pathlib').Path(sys.argv[3]))[0]))")
        r = subprocess.run([sys.executable, "-c", code, str(HERE.parent), str(HERE), str(d)], env=env,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        out[kernel] = json.loads(r.stdout.strip().splitlines()[-1])
    diff = sorted(k for k in out["Haswell"] if out["Haswell"][k] != out["SkylakeX"].get(k))
    assert not diff, f"default-strong differs between OpenBLAS kernels: {diff}"


def main() -> None:
    import tempfile

    sys.path.insert(0, str(HERE.parent))
    from conftest import _compose

    if "--write" not in sys.argv:
        print(f"usage: python {Path(__file__).name} --write   (re-renders every case into {FIXTURE.name})")
        return
    cases, gl_seen = {}, None
    with tempfile.TemporaryDirectory() as tmp:
        for case in _case_ids():
            scene, preset = case.split("-")
            hashes, gl = render_case(_compose, scene, preset, Path(tmp) / case)
            cases[case] = hashes
            gl_seen = gl
            print(case, len(hashes), "files")
    FIXTURE.write_text(json.dumps({"gl": gl_seen, "cases": cases}, indent=1, sort_keys=True) + "\n")
    print("wrote", FIXTURE, "(without alternates: record them again on the other CPU models)")


if __name__ == "__main__":
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    main()
