"""The panorama bank under simgen.scene.panorama: lights found, energy shares, exposures, and a contact sheet.

    python benchmarks/panoramas.py [--dir $SIMGEN_SHARED/textures/panoramas] [--out panoramas.png] [--width 1024]

Per panorama it prints the dominant light (elevation above the horizon and azimuth from +x toward +y, degrees,
rotation 0), its irradiance E (file units), its share of the panorama's energy, the light region's solid angle,
the two auto exposures, and how well "directional light + SH of the rest" reproduces the irradiance of the full
panorama on a sphere of normals (brute-force cosine integration as the truth; mean and max relative error).

The contact sheet has one row per panorama: the tone-mapped panorama (log-average exposure, display transform)
with the light marked (red circle), the panorama without the light, and three grey spheres (albedo 0.3, incident
exposure) seen from +x (up = +z):
brute-force irradiance of the full panorama, directional light + SH (no shadowing), and SH of the full panorama
alone (what a renderer without the light extraction would get).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from simgen.scene import panorama as P  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def sphere_normals(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Normals of a unit sphere seen from +x (image right = -y, up = +z): ((n, n) bool mask, (K, 3))."""
    yy, xx = np.mgrid[0:n, 0:n]
    a = (xx + 0.5) / n * 2 - 1          # image right
    b = 1 - (yy + 0.5) / n * 2          # image up
    m = a * a + b * b < 1
    nx = np.sqrt(np.clip(1 - a * a - b * b, 0, 1))
    normals = np.stack([nx, -a, b], -1)[m]
    return m, normals


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=str(Path(os.environ.get("SIMGEN_SHARED", REPO.parent / "shared")) / "textures"
                                         / "panoramas"))
    ap.add_argument("--out", default="panoramas.png")
    ap.add_argument("--width", type=int, default=1024, help="load panoramas at this width")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log = logging.getLogger("panoramas")

    rows = []
    S = 64
    mask, normals = sphere_normals(S)
    log.info(f"{'panorama':24s} {'elev':>6s} {'azim':>6s} {'E':>9s} {'share':>6s} {'sr':>7s} {'exp_log':>8s} "
             f"{'exp_inc':>8s} {'light+SH err mean/max':>22s} {'SH-only err':>12s} {'ms':>5s}")
    for path in P.list_panoramas(args.dir):
        t0 = time.perf_counter()
        pano = P.load_panorama(path, max_width=args.width)
        light = P.dominant_light(pano)
        sh = P.sh9(light.pano_without)
        ms = (time.perf_counter() - t0) * 1e3
        H, W = pano.shape[:2]
        share = 1 - P.sphere_integral(light.pano_without) / P.sphere_integral(pano)
        removed = P.luminance(pano) - P.luminance(light.pano_without)
        sr = float(P.solid_angles(H, W)[removed > 0].sum())
        d = light.direction
        elev = np.degrees(np.arcsin(np.clip(d[2], -1, 1)))
        azim = np.degrees(np.arctan2(d[1], d[0]))
        k_log = P.auto_exposure(pano)
        k_inc = P.auto_exposure(pano, method="incident")

        small = cv2.resize(pano, (256, 128), interpolation=cv2.INTER_AREA)
        truth = P.irradiance_brute(small, normals)
        approx = P.sh_irradiance(sh, normals) + light.irradiance * np.maximum(normals @ d, 0)[:, None] * light.colour
        sh_only = P.sh_irradiance(P.sh9(pano), normals)
        ty = truth @ P.LUMA
        err = np.abs(approx @ P.LUMA - ty) / ty.mean()
        err_sh = np.abs(sh_only @ P.LUMA - ty) / ty.mean()
        log.info(f"{path.stem:24s} {elev:6.1f} {azim:6.1f} {light.irradiance:9.3f} {share:6.3f} {sr:7.4f} "
                 f"{k_log:8.3f} {k_inc:8.3f} {err.mean():10.3f} / {err.max():.3f} {err_sh.mean():12.3f} {ms:5.0f}")

        view = P.display_transform(cv2.resize(pano, (512, 256), interpolation=cv2.INTER_AREA) * k_log)
        without = P.display_transform(cv2.resize(light.pano_without, (512, 256), interpolation=cv2.INTER_AREA)
                                      * k_log)
        view = np.ascontiguousarray(view[..., ::-1])
        without = np.ascontiguousarray(without[..., ::-1])
        col, row = P.direction_to_pixel(d, 256, 512)
        cv2.circle(view, (int(round(float(col))), int(round(float(row)))), 12, (0, 0, 255), 2)
        cv2.drawMarker(view, (int(round(float(col))), int(round(float(row)))), (0, 0, 255), cv2.MARKER_CROSS, 30, 1)
        txt = f"{path.stem[:-3]}  elev {elev:.0f} az {azim:.0f} E {light.irradiance:.2f} share {share:.2f}"
        cv2.rectangle(view, (0, 236), (511, 255), (0, 0, 0), -1)
        cv2.putText(view, txt, (4, 250), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1)
        cv2.putText(without, "without the light", (4, 250), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)

        k_sphere = 0.3 / np.pi * k_inc               # albedo 0.3, incident exposure: rows comparable
        spheres = []
        for e, label in ((truth, "truth"), (approx, "light+SH"), (sh_only, "SH only")):
            img = np.zeros((S, S, 3), np.float32)
            img[mask] = e * k_sphere
            s8 = np.ascontiguousarray(P.display_transform(img)[..., ::-1])
            s8 = cv2.resize(s8, (256, 256), interpolation=cv2.INTER_LINEAR)
            cv2.putText(s8, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
            spheres.append(s8)
        rows.append(np.hstack([view, without, *spheres]))
    sheet = np.vstack(rows)
    cv2.imwrite(args.out, sheet)
    log.info("wrote %s (%dx%d)", args.out, sheet.shape[1], sheet.shape[0])


if __name__ == "__main__":
    main()
