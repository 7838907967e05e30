"""Surface defects on labelled objects: scratch, dent, crack, rust, stain -- each a labelled instance of its own
category whose mask lies inside its object's visible mask.

Defects are drawn in image space but laid out on the object's surface: a centre pixel is picked inside the
object's visible mask, the surface point and normal there come from the rendered depth, and the defect's shape is
defined in metres on that tangent plane and projected with the camera (so it foreshortens with the surface, and its
size follows the object's size). Pixels off the tangent plane (another face, the far side of a curve) are left out.

Dents are a shading effect consistent with the surface: the depth-derived normals inside the dent are tilted by
the gradient of a smooth bowl ``h(r) = -A (1 - (r/R)^2)^2`` and re-lit with the scene's lights (Lambert ratio plus
a Blinn-Phong highlight change), which is what a normal-map dent looks like; the mesh itself is not changed (a
per-instance mesh copy would need a GL upload per sample), so the silhouette and the depth map stay the object's.

Instance ids of defects: ``DEFECT_ID_BASE + object_instance_id * 100 + k``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

import numpy as np

from simgen.core.checks import check
from simgen.core.dist import Dist, choice, const, randint, uniform
from simgen.core.geometry import norm
from simgen.core.imaging import (
    backproject,
    luminance,
    normals_from_depth,
    project_cam,
    tangent_basis,
    to_u8,
    value_noise,
)
from simgen.errors import ConfigError
from simgen.labels.extract import Instance
from simgen.randomize.family import Family, SampleContext
from simgen.scene.model import Scene

DEFECT_ID_BASE = 1_000_000
DEFECT_KINDS = ("scratch", "dent", "crack", "rust", "stain")


@dataclass
class DefectsConfig:
    """Surface defects on labelled objects, each a labelled instance of its own category (mask inside its object's
    visible mask). Drawn in image space on the object's tangent plane (from the rendered depth), so they
    foreshorten with the surface; dents re-shade the surface with perturbed normals and the scene's lights."""

    enabled: bool = False
    probability: Dist = const(0.3, min=0.0, max=1.0)  # per labelled, visible object
    kind: Dist = choice(["scratch", "dent", "crack", "rust", "stain"], [0.3, 0.2, 0.2, 0.2, 0.1], allowed=DEFECT_KINDS)
    per_object: Dist = randint(1, 2, integer=True, min=0, max=20)
    size: Dist = uniform(0.2, 0.5, min=1e-3, max=2.0)  # defect extent, fraction of the object's radius
    strength: Dist = uniform(0.5, 1.0, min=0.0, max=1.0)  # contrast of the defect
    # defects with fewer visible pixels are dropped (not drawn, not labelled)
    min_area: int = field(default=6, metadata=check(integer=True, min=1, max=10**6))
    # categories exported for defects (ids after the scene's); must include every kind that can be drawn
    categories: list[str] = field(default_factory=lambda: list(DEFECT_KINDS),
                                  metadata=check(names=DEFECT_KINDS, nonempty=True))
    # only objects of these categories (fnmatch patterns) get defects
    objects: list[str] = field(default_factory=lambda: ["*"])

    def check(self, prefix: str) -> None:
        missing = [k for k in self.kind.support() if k not in self.categories]
        if missing:
            raise ConfigError(f"{prefix}.kind can draw {', '.join(missing)} but {prefix}.categories does not list "
                              f"it; add it to categories or drop it from kind")
        if len(set(self.categories)) != len(self.categories):
            raise ConfigError(f"{prefix}.categories lists a name twice: {self.categories}")


def parent_instance_id(defect_instance_id: int) -> int:
    return (int(defect_instance_id) - DEFECT_ID_BASE) // 100


class _Surface:
    """Per-frame geometry: camera-frame points and normals (computed once, when the first defect is drawn)."""

    def __init__(self, depth: np.ndarray, scene: Scene):
        cam = scene.camera
        self.cam = cam
        self.depth = depth
        self.P = backproject(depth, cam)
        self.N = np.zeros_like(self.P)  # filled per object window by :meth:`prepare`
        R_cw = cam.T_world_cam[:3, :3].T
        t_cw = -R_cw @ cam.T_world_cam[:3, 3]
        self.lights = []  # (kind, vector in camera frame, weight)
        for L in scene.lights:
            w = float(L.intensity) * float(np.mean(L.color))
            if L.kind == "directional":
                self.lights.append(("dir", R_cw @ L.T_world_light[:3, 2], w))
            else:
                self.lights.append(("pos", R_cw @ L.T_world_light[:3, 3] + t_cw, w))
        self.ambient = float(np.mean(scene.ambient))

    def prepare(self, bbox_xywh) -> None:
        """Normals in the object's box (plus a margin), from the depth in that window only."""
        x, y, w, h = (int(v) for v in bbox_xywh)
        H, W = self.depth.shape
        x0, y0, x1, y1 = max(x - 4, 0), max(y - 4, 0), min(x + w + 4, W), min(y + h + 4, H)
        self.N[y0:y1, x0:x1] = normals_from_depth(self.depth[y0:y1, x0:x1], self.cam, x0, y0)

    def shade(self, P: np.ndarray, N: np.ndarray, shininess: float) -> tuple[np.ndarray, np.ndarray]:
        """Diffuse and specular terms (M,) for points P (M, 3) with normals N (M, 3)."""
        V = -P / np.maximum(np.linalg.norm(P, axis=1, keepdims=True), 1e-9)
        diff = np.full(len(P), self.ambient, np.float32)
        spec = np.zeros(len(P), np.float32)
        for kind, vec, w in self.lights:
            if kind == "dir":
                Ld = np.broadcast_to(vec / norm(vec), P.shape)
                ww = np.full(len(P), w)
            else:
                d = vec[None, :] - P
                dist2 = np.maximum((d * d).sum(1), 1e-6)
                Ld = d / np.sqrt(dist2)[:, None]
                ww = w / dist2
            ndl = np.clip((N * Ld).sum(1), 0, None)
            H = Ld + V
            H /= np.maximum(np.linalg.norm(H, axis=1, keepdims=True), 1e-9)
            diff += ww * ndl
            spec += ww * np.clip((N * H).sum(1), 0, None) ** shininess * (ndl > 0)
        return diff, spec


def _tangent_points(s: _Surface, cy: int, cx: int, rng: np.random.Generator):
    """Surface point, normal (averaged over 5x5 valid pixels) and a randomly rotated tangent basis at a pixel."""
    y0, y1 = max(cy - 2, 0), cy + 3
    x0, x1 = max(cx - 2, 0), cx + 3
    n = s.N[y0:y1, x0:x1].reshape(-1, 3)
    n = n[np.linalg.norm(n, axis=1) > 0.5]
    n0 = n.mean(0) if len(n) else s.N[cy, cx]
    n0 = n0 / max(norm(n0), 1e-9)
    t1, t2 = tangent_basis(n0)
    a = rng.uniform(0, 2 * np.pi)
    t1, t2 = np.cos(a) * t1 + np.sin(a) * t2, -np.sin(a) * t1 + np.cos(a) * t2
    return s.P[cy, cx].astype(np.float64), n0, t1, t2


def _to_pixels(s: _Surface, P0, t1, t2, xy: np.ndarray) -> np.ndarray:
    """(K, 2) tangent-plane coordinates (metres) -> (K, 2) cv2 pixel coordinates (centres at integers)."""
    pts = P0[None, :] + xy[:, :1] * t1[None, :] + xy[:, 1:2] * t2[None, :]
    return project_cam(pts, s.cam) - 0.5


def _polyline_mask(shape, paths: list[np.ndarray], thickness: int) -> np.ndarray:
    import cv2

    m = np.zeros(shape, np.uint8)
    for p in paths:
        cv2.polylines(m, [np.rint(p * 16).astype(np.int32)], False, 1, thickness, cv2.LINE_8, 4)
    return m.astype(bool)


def _walk(rng: np.random.Generator, length: float, n: int, wiggle: float, start=(0.0, 0.0), angle=None):
    a0 = rng.uniform(0, 2 * np.pi) if angle is None else angle
    ang = a0 + np.cumsum(rng.normal(0, wiggle, n))
    step = length / n
    xy = np.cumsum(np.stack([np.cos(ang), np.sin(ang)], 1) * step, 0)
    xy = np.vstack([[0.0, 0.0], xy]) + np.asarray(start)
    return xy


def _plane_region(s: _Surface, P0, n0, R: float, bbox) -> tuple[np.ndarray, tuple]:
    """Pixels in bbox whose surface point lies near the tangent plane and within 1.5 R of P0."""
    y0, y1, x0, x1 = bbox
    P = s.P[y0:y1, x0:x1]
    d = P - P0
    off = np.abs(d @ n0)
    near = np.linalg.norm(d, axis=2) < 1.5 * R + 1e-6
    tol = 0.25 * R + 3.0 * float(P0[2]) / s.cam.fx
    return (off < tol) & near & (np.linalg.norm(s.N[y0:y1, x0:x1], axis=2) > 0.5), (y0, y1, x0, x1)


def _bbox_of(pix: np.ndarray, shape, pad: int = 3):
    h, w = shape
    x0 = int(np.clip(np.floor(pix[:, 0].min()) - pad, 0, w))
    x1 = int(np.clip(np.ceil(pix[:, 0].max()) + pad + 1, 0, w))
    y0 = int(np.clip(np.floor(pix[:, 1].min()) - pad, 0, h))
    y1 = int(np.clip(np.ceil(pix[:, 1].max()) + pad + 1, 0, h))
    return y0, y1, x0, x1


def _draw(kind: str, out: np.ndarray, s: _Surface, objmask: np.ndarray, P0, n0, t1, t2, size: float,
          strength: float, metallic: float, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Draw one defect into ``out`` (H, W, 3) float32; return its mask (H, W) bool and its footprint size in
    pixels (for visibility)."""
    import cv2

    H, W = objmask.shape
    thick = max(1, int(round(W / 640)))
    full = np.zeros((H, W), bool)
    if kind in ("scratch", "crack"):
        if kind == "scratch":
            paths = [_walk(rng, size * rng.uniform(1.0, 2.0), 16, 0.06, start=(-size / 2, 0), angle=0.0)]
        else:
            main = _walk(rng, size * rng.uniform(1.0, 1.6), 14, 0.35, start=(-size / 2, 0), angle=0.0)
            paths = [main]
            for _ in range(int(rng.integers(1, 3))):
                k = int(rng.integers(3, len(main) - 2))
                paths.append(_walk(rng, size * rng.uniform(0.25, 0.5), 6, 0.4, start=main[k],
                                   angle=rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.1)))
        pix = [_to_pixels(s, P0, t1, t2, p) for p in paths]
        full = _polyline_mask((H, W), pix, thick)
        bbox = _bbox_of(np.vstack(pix), (H, W))
        region, _ = _plane_region(s, P0, n0, size * 1.2, bbox)
        y0, y1, x0, x1 = bbox
        m = np.zeros((H, W), bool)
        m[y0:y1, x0:x1] = full[y0:y1, x0:x1] & region
        m &= objmask
        if kind == "scratch":
            out[m] += (255.0 - out[m]) * (0.35 + 0.35 * strength)
        else:
            out[m] *= 1.0 - (0.45 + 0.4 * strength)
        return m, int(full.sum())
    R = 0.5 * size
    theta = np.linspace(0, 2 * np.pi, 33)[:-1]
    circle = np.stack([np.cos(theta), np.sin(theta)], 1) * R
    pix = _to_pixels(s, P0, t1, t2, circle)
    bbox = _bbox_of(pix, (H, W))
    y0, y1, x0, x1 = bbox
    if y1 <= y0 or x1 <= x0:
        return np.zeros((H, W), bool), 0
    region, _ = _plane_region(s, P0, n0, R, bbox)
    P = s.P[y0:y1, x0:x1].astype(np.float64)
    d = P - P0
    lx, ly = d @ t1, d @ t2
    r = np.hypot(lx, ly)
    sub = out[y0:y1, x0:x1]
    om = objmask[y0:y1, x0:x1]
    if kind == "dent":
        inside = (r < R) & region & om
        if not inside.any():
            return np.zeros((H, W), bool), 0
        A = strength * 0.3 * R
        q = (r / R) ** 2
        dh = 4.0 * A * r * (1 - q) / (R * R)  # dh/dr of h = -A (1 - q)^2, sign: bowl (depression)
        gx = np.where(r > 1e-9, dh * lx / np.maximum(r, 1e-9), 0.0)
        gy = np.where(r > 1e-9, dh * ly / np.maximum(r, 1e-9), 0.0)
        N0 = s.N[y0:y1, x0:x1].astype(np.float64)
        N1 = N0 - (gx[..., None] * t1 + gy[..., None] * t2)
        N1 /= np.maximum(np.linalg.norm(N1, axis=2, keepdims=True), 1e-9)
        Pi, n0i, n1i = P[inside], N0[inside], N1[inside]
        shin = 8.0 + 56.0 * metallic
        d0, s0 = s.shade(Pi, n0i, shin)
        d1, s1 = s.shade(Pi, n1i, shin)
        ratio = np.clip(d1 / np.maximum(d0, 1e-6), 0.25, 2.5)
        ks = 60.0 + 120.0 * metallic
        new = sub[inside] * ratio[:, None] + ks * (s1 - s0)[:, None]
        if np.abs(new - sub[inside]).mean() < 3.0:  # too faint to see: not drawn, not labelled
            return np.zeros((H, W), bool), 0
        sub[inside] = new
        m = np.zeros((H, W), bool)
        m[y0:y1, x0:x1] = inside
        footprint = (r < R) & region
        return m, int(footprint.sum())
    # rust / stain: an irregular blob, radius modulated by smooth noise around the circle
    k = 32
    radial = np.interp(np.linspace(0, 1, k + 1)[:-1], np.linspace(0, 1, 9), np.r_[rng.random(8), 0.0])
    radial[-1] = radial[0]
    rad = R * (0.55 + 0.45 * radial)
    if kind == "stain":
        rad = R * (0.75 + 0.25 * radial)
    ang = np.linspace(0, 2 * np.pi, k + 1)[:-1]
    blob = _to_pixels(s, P0, t1, t2, np.stack([np.cos(ang) * rad, np.sin(ang) * rad], 1))
    shape_m = np.zeros((H, W), np.uint8)
    cv2.fillPoly(shape_m, [np.rint(blob * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    full = shape_m.astype(bool)
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = full[y0:y1, x0:x1] & region & om
    if not m.any():
        return m, int(full.sum())
    noise = value_noise(rng, (y1 - y0, x1 - x0), 3)
    a = np.zeros((H, W), np.float32)
    if kind == "rust":
        a[y0:y1, x0:x1] = strength * (0.55 + 0.45 * noise)
        base = np.array([0.48, 0.22, 0.07]) * rng.uniform(0.75, 1.2)
    else:
        fall = np.clip(1.0 - r / R, 0, 1) ** 0.5
        a[y0:y1, x0:x1] = strength * 0.6 * (0.6 + 0.4 * noise) * np.maximum(fall, 0.35)
        base = np.array([0.16, 0.13, 0.09]) * rng.uniform(0.7, 1.3)
    am = a[m][:, None]
    lum = luminance(out[m])
    shade = np.clip(lum / max(float(luminance(out[objmask]).mean()), 1.0), 0.3, 1.8)[:, None]
    out[m] = out[m] * (1 - am) + (base * 255.0)[None, :] * shade * am
    return m, int(full.sum())


def apply(rgb: np.ndarray, depth: np.ndarray, instance_ids: np.ndarray, scene: Scene, instances: list[Instance],
          cfg: DefectsConfig, catalog, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[Instance, str]]]:
    """Draw defects on visible labelled objects. Returns (rgb uint8, [(defect Instance, category)])."""
    import cv2


    objs = {o.instance_id: o for o in scene.objects}
    out = None
    surf = None
    extras: list[tuple[Instance, str]] = []
    for inst in sorted(instances, key=lambda i: i.instance_id):
        u = float(rng.random())
        p = float(cfg.probability.sample(rng))
        n = int(cfg.per_object.sample(rng))
        sub_seed = int(rng.integers(1 << 62))
        if u >= p or n <= 0 or not any(fnmatch.fnmatchcase(inst.category, pat) for pat in cfg.objects):
            continue
        o = objs[inst.instance_id]
        mesh = catalog[o.asset_key]
        radius = float(mesh.radius * o.scale)
        metallic = float(o.metallic if o.metallic is not None else mesh.metallic)
        objmask = instance_ids == inst.instance_id
        if surf is None:
            surf = _Surface(depth, scene)
            out = rgb.astype(np.float32)
        surf.prepare(inst.bbox_xywh)
        interior = cv2.erode(objmask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        interior &= np.linalg.norm(surf.N, axis=2) > 0.5
        cand = np.flatnonzero(interior)
        drng = np.random.Generator(np.random.PCG64(sub_seed))
        for k in range(n):
            kind = str(cfg.kind.sample(drng))
            size = float(cfg.size.sample(drng)) * radius
            strength = float(cfg.strength.sample(drng))
            if len(cand) == 0:
                continue
            c = int(cand[int(drng.integers(len(cand)))])
            cy, cx = divmod(c, objmask.shape[1])
            P0, n0, t1, t2 = _tangent_points(surf, cy, cx, drng)
            before = out.copy()
            m, footprint = _draw(kind, out, surf, objmask, P0, n0, t1, t2, size, strength, metallic, drng)
            area = int(m.sum())
            if area < cfg.min_area:
                out[:] = before  # too small to label: undo
                continue
            ys, xs = np.nonzero(m)
            x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
            vis = min(1.0, area / max(footprint, area))
            extras.append((Instance(instance_id=DEFECT_ID_BASE + inst.instance_id * 100 + k, category=kind,
                                    bbox_xywh=(float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)),
                                    area=area, visibility=round(float(vis), 4), truncation=0.0,
                                    mask_crop=m[y0:y1 + 1, x0:x1 + 1].copy()), kind))
    scene.params["defects"] = len(extras)
    if out is None:
        return rgb, extras
    return to_u8(out), extras


class DefectsFamily(Family):
    name = "defects"
    stream_id = 8
    order = 70
    Config = DefectsConfig

    @classmethod
    def check_scene(cls, cfg: DefectsConfig, spec) -> None:
        clash = set(cfg.categories) & set(spec.categories) if cfg.enabled else set()
        if clash:
            raise ConfigError(f"defect categories {sorted(clash)} clash with the scene's own categories; rename the "
                              f"scene's objects or set randomization.defects.categories")

    def categories(self) -> list[str]:
        return list(self.cfg.categories)

    def after_render(self, ctx: SampleContext) -> None:
        ctx.rgb, extra = apply(ctx.rgb, ctx.frame.depth, ctx.frame.instance_ids, ctx.scene, ctx.instances,
                               self.cfg, ctx.catalog, ctx.rng)
        ctx.extra.extend(extra)
