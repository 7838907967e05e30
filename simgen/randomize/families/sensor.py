"""Sensor and optics, in linear light: exposure, defocus (disk) and motion (line) blur, Poisson shot noise, then
gamma, Gaussian read noise and JPEG compression. Image-space only: labels are unchanged (boxes do not move; masks
stay the objects' rendered pixels)."""

from __future__ import annotations

import numpy as np

from simgen.randomize.imaging import NORMAL_Q, _TO_LINEAR, lut, noise_bytes, to_u8
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


BLOCK = 1 << 16  # elements per block of the float steps: the block temporaries stay in cache, no fresh pages


def _pixel_table(rgb: np.ndarray, noise: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[rgb, noise]`` for a (256, 256) table indexed by pixel value and noise byte (both uint8 arrays of
    one shape) -> array of that shape and the table's dtype."""
    idx = rgb.astype(np.uint16)
    idx <<= 8
    idx |= noise
    return table.reshape(-1).take(idx)


def _shot_read(rgb: np.ndarray, level: np.ndarray, shot: np.ndarray, read_q: np.ndarray,
               noise: np.ndarray) -> np.ndarray:
    """uint8 ``round(level[rgb, shot] + read_q[noise])``: level (256, 256) float32 by (value, shot byte), read_q
    (256,) float32 by noise byte; rgb, shot, noise uint8 arrays of one shape. In blocks of :data:`BLOCK`."""
    flat = level.reshape(-1)
    v, s, r = rgb.reshape(-1), shot.reshape(-1), noise.reshape(-1)
    out = np.empty(v.shape, np.uint8)
    for i in range(0, v.size, BLOCK):
        j = slice(i, i + BLOCK)
        idx = v[j].astype(np.uint16)
        idx <<= 8
        idx |= s[j]
        f = flat.take(idx)
        f += read_q.take(r[j])
        f += np.float32(0.5)  # round half up, clip
        np.clip(f, 0.0, 255.0, out=f)
        out[j] = f
    return out.reshape(rgb.shape)


def _gamma_noise(lin: np.ndarray, inv_gamma: float, shot_q, shot: np.ndarray | None, read_q,
                 noise: np.ndarray | None) -> np.ndarray:
    """uint8 ``round(255 clip(lin + sqrt(lin) shot_q[shot], 0, 1)^inv_gamma + read_q[noise])`` of a float32 image
    in 0..1 (the shot or read term left out where its bytes are None). In blocks of :data:`BLOCK`."""
    import cv2

    x = lin.reshape(-1)
    s = None if shot is None else shot.reshape(-1)
    r = None if noise is None else noise.reshape(-1)
    out = np.empty(x.shape, np.uint8)
    for i in range(0, x.size, BLOCK):
        j = slice(i, i + BLOCK)
        f = x[j]
        if s is not None:  # Poisson shot noise, in its Gaussian form (variance = signal; photons >> 1)
            d = np.sqrt(f)
            d *= shot_q.take(s[j])
            f = f + d
            np.clip(f, 0.0, 1.0, out=f)
        f = cv2.pow(f, inv_gamma).reshape(-1)
        f *= np.float32(255.0)
        if r is not None:
            f += read_q.take(r[j])
        f += np.float32(0.5)  # round half up, clip
        np.clip(f, 0.0, 255.0, out=f)
        out[j] = f
    return out.reshape(lin.shape)


def apply(rgb: np.ndarray, cfg: SensorConfig, rng: np.random.Generator) -> np.ndarray:
    """rgb (H, W, 3) uint8 -> uint8.

    In linear light: exposure, defocus / motion blur, shot noise (Gaussian form, variance = signal / photons),
    clip; then gamma, read noise (Gaussian, std in 0..255 units), rounding; then JPEG. Noise values are random bytes
    looked up in the normal quantile table :data:`~simgen.randomize.imaging.NORMAL_Q`. Without blur every step
    before the read noise depends on the pixel's 8-bit value (and its shot-noise byte) only, so it is a table
    lookup: exposure + gamma + read noise + rounding are one uint8 table indexed by (value, noise byte), and shot
    noise a float table indexed by (value, noise byte)."""
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

    do_defocus = u_defocus < p_defocus and defocus >= 0.5
    do_motion = u_motion < p_motion and motion >= 1.5
    do_shot = u_shot < p_shot
    nrng = np.random.Generator(np.random.PCG64(noise_seed))
    inv_gamma = 1.0 / (2.2 * gamma)
    gain = np.float32(2.0 ** ev)
    read_q = NORMAL_Q * np.float32(read)  # read noise per noise byte, 0..255 units
    if not (do_defocus or do_motion):
        lin = np.clip(_TO_LINEAR * gain, 0.0, 1.0)  # (256,) per input value
        if not do_shot:  # exposure, gamma, read noise and rounding: one (value, noise byte) -> uint8 table
            level = (np.power(lin, np.float32(inv_gamma)) * np.float32(255.0)).astype(np.float32)
            if read <= 0:
                out = lut(rgb, to_u8(level))
            else:
                out = _pixel_table(rgb, noise_bytes(nrng, rgb.shape), to_u8(level[:, None] + read_q[None, :]))
        else:  # shot noise too: a (value, shot byte) -> float table, then read noise
            sd = np.sqrt(lin * np.float32(1.0 / photons))
            noisy = np.clip(lin[:, None] + sd[:, None] * NORMAL_Q[None, :], 0.0, 1.0)
            level = (np.power(noisy, np.float32(inv_gamma)) * np.float32(255.0)).astype(np.float32)
            shot = noise_bytes(nrng, rgb.shape)
            if read <= 0:
                out = _pixel_table(rgb, shot, to_u8(level))
            else:
                out = _shot_read(rgb, level, shot, read_q, noise_bytes(nrng, rgb.shape))
    else:  # blur mixes values: a float image, then shot noise, gamma, read noise and rounding in blocks
        lin = lut(rgb, _TO_LINEAR * gain)
        if do_defocus:
            cv2.filter2D(lin, -1, disk_kernel(defocus), dst=lin, borderType=cv2.BORDER_REFLECT)
        if do_motion:
            cv2.filter2D(lin, -1, line_kernel(motion, angle), dst=lin, borderType=cv2.BORDER_REFLECT)
        np.clip(lin, 0.0, 1.0, out=lin)
        shot = noise_bytes(nrng, rgb.shape) if do_shot else None
        noise = noise_bytes(nrng, rgb.shape) if read > 0 else None
        out = _gamma_noise(lin, inv_gamma, NORMAL_Q * np.float32(1.0 / np.sqrt(photons)), shot, read_q, noise)
    if u_jpeg < p_jpeg:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out
