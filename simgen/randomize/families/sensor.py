"""Sensor and optics, in linear light: exposure, defocus (disk) and motion (line) blur, Poisson shot noise, then
gamma, Gaussian read noise, the camera's sharpening (unsharp mask, as consumer cameras' image processors apply: it
also sharpens the noise) and JPEG compression. Image-space only: labels are unchanged (boxes do not move; masks
stay the objects' rendered pixels)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simgen.core.dist import Dist, const, loguniform, normal, randint, uniform
from simgen.core.imaging import _TO_LINEAR, NORMAL_Q, lut, noise_bytes, to_u8
from simgen.randomize.family import Family, SampleContext


@dataclass
class SensorConfig:
    """Camera sensor and optics: exposure, defocus and motion blur, shot and read noise, gamma, sharpening, JPEG."""

    enabled: bool = False
    exposure_ev: Dist = normal(0.0, 0.3, -1.0, 1.0, min=-10.0, max=10.0)
    defocus_probability: Dist = const(0.2, min=0.0, max=1.0)
    # blur disk radius at the output resolution's 640-wide equivalent
    defocus_px: Dist = uniform(0.6, 1.8, min=0.0, max=50.0)
    motion_blur_probability: Dist = const(0.15, min=0.0, max=1.0)
    motion_blur_px: Dist = uniform(2.0, 6.0, min=0.0, max=100.0)  # streak length (640-wide equivalent)
    motion_blur_angle_deg: Dist = uniform(0.0, 180.0)
    shot_noise_probability: Dist = const(0.5, min=0.0, max=1.0)
    photons: Dist = loguniform(2000.0, 20000.0, min=1.0)  # photons at full white
    read_noise: Dist = uniform(0.0, 2.5, min=0.0, max=255.0)  # Gaussian std in 0..255 units
    gamma: Dist = uniform(0.9, 1.1, min=0.05, max=20.0)
    jpeg_probability: Dist = const(0.3, min=0.0, max=1.0)
    jpeg_quality: Dist = randint(55, 95, integer=True, min=1, max=100)
    # unsharp mask after the noise, before JPEG: out += amount * (out - gaussian(out, sigma_px)); 0 = off
    sharpen_probability: Dist = const(0.0, min=0.0, max=1.0)
    sharpen_amount: Dist = uniform(0.3, 1.5, min=0.0, max=10.0)
    sharpen_sigma_px: Dist = uniform(0.8, 1.2, min=0.3, max=10.0)  # 640-wide equivalent


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


BLOCK = 1 << 16  # elements per strip of rows: the temporaries of a strip stay in cache and need no fresh pages


def _strips(shape, halo: int = 0):
    """(r0, r1, a0, a1) row strips of about :data:`BLOCK` elements of an (H, W, C) image: rows r0:r1 are made from
    rows a0:a1 (r0:r1 widened by ``halo`` rows each side, within the image)."""
    h = shape[0]
    rows = max(8, BLOCK // max(1, int(np.prod(shape[1:]))))
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        yield r0, r1, max(0, r0 - halo), min(h, r1 + halo)


def _pixel_table(rgb: np.ndarray, noise: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[rgb, noise]`` for a (256, 256) table indexed by pixel value and noise byte (both uint8 arrays of
    one shape) -> array of that shape and the table's dtype."""
    idx = rgb.astype(np.uint16)
    idx <<= 8
    idx |= noise
    return table.reshape(-1).take(idx)


def _round_into(out: np.ndarray, f: np.ndarray) -> None:
    """out (uint8) = f (float32, 0..255 units, overwritten) rounded half up and clipped, like :func:`to_u8`."""
    f += np.float32(0.5)
    np.clip(f, 0.0, 255.0, out=f)
    out[...] = f


def _table_noise(rgb: np.ndarray, table: np.ndarray, nrng: np.random.Generator) -> np.ndarray:
    """uint8 ``table[rgb, b]`` with b a fresh random byte per element: table (256, 256) uint8 by (value, byte)."""
    out = np.empty_like(rgb)
    for r0, r1, _, _ in _strips(rgb.shape):
        out[r0:r1] = _pixel_table(rgb[r0:r1], noise_bytes(nrng, rgb[r0:r1].shape), table)
    return out


def _shot_read(rgb: np.ndarray, level: np.ndarray, read_q: np.ndarray, nrng: np.random.Generator) -> np.ndarray:
    """uint8 ``round(level[rgb, s] + read_q[r])`` with s, r fresh random bytes per element (s then r, per strip):
    level (256, 256) float32 by (value, shot byte), read_q (256,) float32 by byte."""
    out = np.empty_like(rgb)
    for r0, r1, _, _ in _strips(rgb.shape):
        v = rgb[r0:r1]
        f = _pixel_table(v, noise_bytes(nrng, v.shape), level)
        f += lut(noise_bytes(nrng, v.shape), read_q)
        _round_into(out[r0:r1], f)
    return out


def _blur_gamma_noise(rgb: np.ndarray, to_lin: np.ndarray, kernels, inv_gamma: float, shot_q, read_q,
                      nrng: np.random.Generator) -> np.ndarray:
    """uint8 ``round(255 clip(b + sqrt(b) shot_q[s], 0, 1)^inv_gamma + read_q[r])`` with b = clip(the linear image
    ``to_lin[rgb]`` filtered by each kernel in turn (reflected borders), 0, 1) and s, r fresh random bytes per
    element (the shot or read term left out where its table is None).

    In strips of rows, each filtered from the strip widened by the kernels' radii (the same values as filtering
    the whole image), so no full-size float image is made."""
    import cv2

    halo = sum(k.shape[0] // 2 for k in kernels)
    out = np.empty_like(rgb)
    for r0, r1, a0, a1 in _strips(rgb.shape, halo):
        lin = lut(rgb[a0:a1], to_lin)
        for k in kernels:
            cv2.filter2D(lin, -1, k, dst=lin, borderType=cv2.BORDER_REFLECT)
        f = lin[r0 - a0:r1 - a0]
        np.clip(f, 0.0, 1.0, out=f)
        if shot_q is not None:  # Poisson shot noise, in its Gaussian form (variance = signal; photons >> 1)
            d = cv2.sqrt(f)
            d *= lut(noise_bytes(nrng, f.shape), shot_q)
            f += d
            np.clip(f, 0.0, 1.0, out=f)
        f = cv2.pow(f, inv_gamma)
        f *= np.float32(255.0)
        if read_q is not None:
            f += lut(noise_bytes(nrng, f.shape), read_q)
        _round_into(out[r0:r1], f)
    return out


def unsharp(rgb: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    """uint8 ``round(clip(rgb + amount (rgb - gaussian(rgb, sigma))))``: a camera's sharpening (in display space,
    as image processors do it: edges get halos, noise gets crisper)."""
    import cv2

    f = rgb.astype(np.float32)
    blur = cv2.GaussianBlur(f, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    f -= blur
    f *= np.float32(amount)
    f += rgb
    out = np.empty_like(rgb)
    _round_into(out, f)
    return out


def apply(rgb: np.ndarray, cfg: SensorConfig, rng: np.random.Generator) -> np.ndarray:
    """rgb (H, W, 3) uint8 -> uint8.

    In linear light: exposure, defocus / motion blur, shot noise (Gaussian form, variance = signal / photons),
    clip; then gamma, read noise (Gaussian, std in 0..255 units), rounding; then JPEG. Noise values are random bytes
    looked up in the normal quantile table :data:`~simgen.core.imaging.NORMAL_Q`. Without blur every step
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
    # drawn after everything above, so configs without sharpening make the same bytes as before it existed
    p_sharp = float(cfg.sharpen_probability.sample(rng))
    do_sharpen, amount, sigma = False, 0.0, 0.0
    if p_sharp > 0:
        u_sharp, amount = float(rng.random()), float(cfg.sharpen_amount.sample(rng))
        sigma = float(cfg.sharpen_sigma_px.sample(rng)) * px
        do_sharpen = u_sharp < p_sharp and amount > 0

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
                out = _table_noise(rgb, to_u8(level[:, None] + read_q[None, :]), nrng)
        else:  # shot noise too: a (value, shot byte) -> float table, then read noise
            sd = np.sqrt(lin * np.float32(1.0 / photons))
            noisy = np.clip(lin[:, None] + sd[:, None] * NORMAL_Q[None, :], 0.0, 1.0)
            level = (np.power(noisy, np.float32(inv_gamma)) * np.float32(255.0)).astype(np.float32)
            if read <= 0:
                out = _table_noise(rgb, to_u8(level), nrng)
            else:
                out = _shot_read(rgb, level, read_q, nrng)
    else:  # blur mixes values: float strips, then shot noise, gamma, read noise and rounding
        kernels = ([disk_kernel(defocus)] if do_defocus else []) + ([line_kernel(motion, angle)] if do_motion else [])
        shot_q = NORMAL_Q * np.float32(1.0 / np.sqrt(photons)) if do_shot else None
        out = _blur_gamma_noise(rgb, _TO_LINEAR * gain, kernels, inv_gamma, shot_q, read_q if read > 0 else None,
                                nrng)
    if do_sharpen:
        out = unsharp(out, amount, sigma)
    if u_jpeg < p_jpeg:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out


class SensorFamily(Family):
    name = "sensor"
    stream_id = 9
    order = 90
    Config = SensorConfig

    def after_render(self, ctx: SampleContext) -> None:
        ctx.rgb = apply(ctx.rgb, self.cfg, ctx.rng)
