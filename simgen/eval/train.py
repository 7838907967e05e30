"""Iteration-based detector training: seeded, resumable checkpoints, progress bar or throughput logging."""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from simgen.eval.dataset import DetectionSources, Record, StreamSampler, collate
from simgen.eval.schema import ScoreSettings

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What one training phase did. ``losses[k]`` is the total loss of iteration ``start_iteration + k``."""

    iterations: int
    start_iteration: int
    seconds: float
    images_per_second: float
    losses: list[float] = field(default_factory=list)
    checkpoint: str | None = None


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU."""
    from simgen.errors import ScoreError

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ScoreError("device=cuda but torch sees no CUDA GPU; use device=auto or device=cpu")
    if device not in ("cpu", "cuda"):
        raise ScoreError(f"device={device!r}: use auto, cpu or cuda")
    return torch.device(device)


def lr_factor(it: int, total: int, warmup: int, schedule: str) -> float:
    """Learning-rate multiplier at iteration ``it`` (0-based): linear warm-up then cosine/step/constant."""
    if warmup > 0 and it < warmup:
        return 0.001 + (1 - 0.001) * it / warmup
    if schedule == "cosine":
        t = (it - warmup) / max(1, total - warmup)
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    if schedule == "step":
        return 1.0 if it < 0.75 * total else (0.1 if it < 0.9 * total else 0.01)
    return 1.0


def _use_bar() -> bool:
    return sys.stderr.isatty() and os.environ.get("SIMGEN_NO_PROGRESS", "") in ("", "0")


def train_detector(model: nn.Module, sources: Sequence[Sequence[Record]], weights: Sequence[float],
                   settings: ScoreSettings, *, iterations: int, lr: float, device: torch.device, seed: int,
                   checkpoint_path: str | Path | None = None, tag: str = "train", fingerprint: str = ""
                   ) -> TrainResult:
    """Train ``model`` in place for ``iterations`` batches drawn from ``sources`` with probabilities ``weights``.

    Args:
        sources: per source, records ``(image path, boxes_xyxy (N, 4) float32, labels (N,) int64)``.
        settings: batch size, optimiser, schedule, augmentation, checkpointing, logging.
        checkpoint_path: where to save ``{"model", "optimizer", "iteration", "tag"}`` every
            ``settings.checkpoint_every`` iterations and at the end; with ``settings.resume`` an existing
            checkpoint of the same ``tag``, length, seed and ``fingerprint`` (a string identifying the training
            data and settings) is continued from.
    """
    torch.manual_seed(seed)
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    if settings.optimizer == "adamw":
        opt: torch.optim.Optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=settings.weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    start = 0
    ckpt = Path(checkpoint_path) if checkpoint_path else None
    if ckpt is not None and settings.resume and ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        if (state.get("tag"), state.get("total"), state.get("seed"), state.get("fingerprint", "")) == \
                (tag, iterations, seed, fingerprint):
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            start = int(state["iteration"])
            log.info("%s: resuming from %s at iteration %d/%d", tag, ckpt, start, iterations)
        else:
            log.info("%s: ignoring checkpoint %s (different run); starting fresh", tag, ckpt)

    warmup = min(settings.warmup_iters, iterations // 2)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: lr_factor(k + start, iterations, warmup, settings.lr_schedule))

    def save(it: int) -> None:
        if ckpt is None:
            return
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "iteration": it, "tag": tag,
                    "total": iterations, "seed": seed, "fingerprint": fingerprint}, tmp)
        os.replace(tmp, ckpt)

    bs = settings.batch_size
    dataset = DetectionSources(sources, settings.augment)
    sampler = StreamSampler([len(s) for s in sources], weights, seed, total=iterations * bs, start=start * bs)
    loader = DataLoader(dataset, batch_size=bs, sampler=sampler, collate_fn=collate,
                        num_workers=settings.num_workers, persistent_workers=False)
    bar = None
    if _use_bar():
        from tqdm import tqdm

        bar = tqdm(total=iterations, initial=start, desc=tag, unit="it", dynamic_ncols=True)
    losses: list[float] = []
    t0 = time.perf_counter()
    t_last, it_last = t0, start
    it = start
    window: list[float] = []
    for images, targets in loader:
        images = [im.to(device, non_blocking=True) for im in images]
        targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
        loss_dict = model(images, targets)
        loss = sum(loss_dict.values())
        if not torch.isfinite(loss):
            log.warning("%s: non-finite loss at iteration %d (%s); skipping the batch", tag, it,
                        {k: float(v) for k, v in loss_dict.items()})
            opt.zero_grad(set_to_none=True)
        else:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if settings.clip_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(params, settings.clip_grad_norm)
            opt.step()
        sched.step()
        it += 1
        value = float(loss.detach())
        losses.append(value)
        window.append(value)
        if bar is not None:
            bar.update(1)
            if it % settings.log_every == 0 or it == iterations:
                bar.set_postfix(loss=f"{sum(window) / len(window):.3f}", lr=f"{sched.get_last_lr()[0]:.2e}")
        if it % settings.log_every == 0 or it == iterations:
            now = time.perf_counter()
            ips = (it - it_last) * bs / max(now - t_last, 1e-9)
            msg = ", ".join(f"{k} {float(v.detach()):.3f}" for k, v in loss_dict.items())
            (log.debug if bar is not None else log.info)(
                "%s: iter %d/%d loss %.3f (%s) lr %.2e %.2f img/s", tag, it, iterations,
                sum(window) / len(window), msg, sched.get_last_lr()[0], ips)
            t_last, it_last, window = now, it, []
        if ckpt is not None and settings.checkpoint_every > 0 and it % settings.checkpoint_every == 0 \
                and it < iterations:
            save(it)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - t0
    save(iterations)
    done = iterations - start
    ips = done * bs / max(seconds, 1e-9)
    log.info("%s: %d iterations (batch %d) in %.1f s, %.2f img/s on %s", tag, done, bs, seconds, ips, device)
    return TrainResult(iterations=iterations, start_iteration=start, seconds=seconds, images_per_second=ips,
                       losses=losses, checkpoint=str(ckpt) if ckpt else None)


@torch.inference_mode()
def predict(model: nn.Module, paths: Sequence[str | Path], device: torch.device, batch_size: int = 2
            ) -> list[dict[str, "torch.Tensor"]]:
    """Run the detector on images. Returns per image ``boxes`` (N, 4) float32 xyxy pixels, ``scores`` (N,),
    ``labels`` (N,) int64 (contiguous labels 1..K), on CPU."""
    from simgen.eval.dataset import read_rgb, to_tensor

    model.to(device).eval()
    out: list[dict[str, torch.Tensor]] = []
    paths = list(paths)
    bar = None
    if _use_bar():
        from tqdm import tqdm

        bar = tqdm(total=len(paths), desc="detect", unit="img", dynamic_ncols=True)
    t0 = time.perf_counter()
    for i in range(0, len(paths), batch_size):
        batch = [to_tensor(read_rgb(p)).to(device) for p in paths[i:i + batch_size]]
        for det in model(batch):
            out.append({k: v.detach().cpu() for k, v in det.items()})
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    dt = time.perf_counter() - t0
    log.info("detected on %d images in %.1f s (%.2f img/s)", len(paths), dt, len(paths) / max(dt, 1e-9))
    return out
