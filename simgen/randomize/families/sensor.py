"""Sensor and optics, in linear light: exposure, defocus (disk) and motion (line) blur, Poisson shot noise, then
gamma, Gaussian read noise and JPEG compression. Image-space only: labels are unchanged (boxes do not move; masks
stay the objects' rendered pixels)."""

from __future__ import annotations

import numpy as np

from simgen.randomize.imaging import _TO_LINEAR, fast_normal, srgb_to_linear, to_u8
from simgen.randomize.schema import SensorConfig


def disk_kernel(radius: float) -> np.ndarray:
    r = max(radius, 0.5)
    n = int(np.ceil(r)) * 2 + 1
    yy, xx = np.mgrid[:n, :n] - n // 2
    k = np.clip(r + 0.5 - np.hypot(xx, yy), 0.0, 1.0).astype(np.float32)
    return k / k.sum()


def line_kernel(length: float, angle: float) -> np.ndarray:
    import cv2

    L = max(length, 1.0)
    n = int(np.ceil(L)) | 1
    k = np.zeros((n, n), np.float32)
    c = n // 2
    dx, dy = np.cos(angle) * (L - 1) / 2, np.sin(angle) * (L - 1) / 2
    cv2.line(k, (int(round((c - dx) * 16)), int(round((c - dy) * 16))),
             (int(round((c + dx) * 16)), int(round((c + dy) * 16))), 1.0, 1, cv2.LINE_AA, 4)
    return k / max(float(k.sum()), 1e-6)


def apply(rgb: np.ndarray, cfg: SensorConfig, rng: np.random.Generator) -> np.ndarray:
    """rgb (H, W, 3) uint8 -> uint8."""
    import cv2

    h, w = rgb.shape[:2]
    px = w / 640.0  # blur sizes are given for a 640-wide image
    ev = float(cfg.exposure_ev.sample(rng))
    u_defocus, defocus = float(rng.random()), float(cfg.defocus_px.sample(rng)) * px
    p_defocus = float(cfg.defocus_probability.sample(rng))
    u_motion, motion = float(rng.random()), float(cfg.motion_blur_px.sample(rng)) * px
    angle = np.deg2rad(float(cfg.motion_blur_angle_deg.sample(rng)))
    p_motion = float(cfg.motion_blur_probability.sample(rng))
    u_shot, photons = float(rng.random()), float(cfg.photons.sample(rng))
    p_shot = float(cfg.shot_noise_probability.sample(rng))
    read = float(cfg.read_noise.sample(rng))
    gamma = float(cfg.gamma.sample(rng))
    u_jpeg, quality = float(rng.random()), int(cfg.jpeg_quality.sample(rng))
    p_jpeg = float(cfg.jpeg_probability.sample(rng))
    noise_seed = int(rng.integers(1 << 62))

    blur = (u_defocus < p_defocus and defocus >= 0.5) or (u_motion < p_motion and motion >= 1.5)
    nrng = np.random.Generator(np.random.PCG64(noise_seed))
    inv_gamma = np.float32(1.0 / (2.2 * gamma))
    if not blur and not u_shot < p_shot:
        # a per-value map (exposure, clip, gamma): one 256-entry table instead of per-pixel powers
        lut = np.power(np.clip(_TO_LINEAR * np.float32(2.0 ** ev), 0.0, 1.0), inv_gamma) * np.float32(255.0)
        out = lut[rgb]
    else:
        lin = srgb_to_linear(rgb) * np.float32(2.0 ** ev)
        if u_defocus < p_defocus and defocus >= 0.5:
            lin = cv2.filter2D(lin, -1, disk_kernel(defocus), borderType=cv2.BORDER_REFLECT)
        if u_motion < p_motion and motion >= 1.5:
            lin = cv2.filter2D(lin, -1, line_kernel(motion, angle), borderType=cv2.BORDER_REFLECT)
        np.clip(lin, 0.0, 1.0, out=lin)
        if u_shot < p_shot:  # Poisson shot noise, in its Gaussian form (variance = signal; photons >> 1)
            lin += np.sqrt(lin * np.float32(1.0 / photons)) * fast_normal(nrng, lin.shape)
            np.clip(lin, 0.0, 1.0, out=lin)
        out = np.power(lin, inv_gamma)
        out *= np.float32(255.0)
    if read > 0:
        out += fast_normal(nrng, out.shape) * np.float32(read)
    out = to_u8(out)
    if u_jpeg < p_jpeg:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out
