"""torch Dataset and an endless, seeded sampler for iteration-based detector training."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from simgen.eval.augment import augment
from simgen.eval.schema import AugmentSettings
from simgen.errors import ScoreError

Record = tuple[Path, np.ndarray, np.ndarray]  # (image path, boxes_xyxy (N, 4) float32, labels (N,) int64)


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as ``(H, W, 3) uint8`` RGB (gray and RGBA are converted)."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ScoreError(f"cannot read image {str(path)!r} (unreadable or not an image); replace the file")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """``(H, W, 3) uint8`` -> ``(3, H, W) float32`` in 0..1 (what torchvision detectors take)."""
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div_(255.0)


class DetectionSources(Dataset):
    """Training images from one or more sources (e.g. synthetic and real), augmented per draw.

    Items are addressed by ``(source, index, aug_seed)`` keys from :class:`StreamSampler`, so the augmentation of
    a draw depends only on the key (deterministic whatever the number of loader workers). An item is
    ``(image (3, H, W) float32 0..1, {"boxes": (N, 4) float32 xyxy, "labels": (N,) int64})``.
    """

    def __init__(self, sources: Sequence[Sequence[Record]], augment_cfg: AugmentSettings | None) -> None:
        self.sources = [list(s) for s in sources]
        self.augment_cfg = augment_cfg

    def __len__(self) -> int:
        return sum(len(s) for s in self.sources)

    def __getitem__(self, key: tuple[int, int, int]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        src, idx, aug_seed = key
        path, boxes, labels = self.sources[src][idx]
        rgb = read_rgb(path)
        if self.augment_cfg is not None:
            rng = np.random.default_rng(aug_seed)
            rgb, boxes, labels = augment(rgb, boxes, labels, self.augment_cfg, rng)
        target = {"boxes": torch.from_numpy(np.asarray(boxes, np.float32).reshape(-1, 4)),
                  "labels": torch.from_numpy(np.asarray(labels, np.int64))}
        return to_tensor(rgb), target


class StreamSampler(Sampler):
    """Endless stream of ``(source, index, aug_seed)`` keys: each source is shuffled per epoch; each draw picks
    source ``s`` with probability ``weights[s]``. ``start`` skips that many draws (resume)."""

    def __init__(self, sizes: Sequence[int], weights: Sequence[float], seed: int, total: int, start: int = 0):
        super().__init__()
        if any(n <= 0 for n, w in zip(sizes, weights) if w > 0):
            raise ScoreError("a training source with non-zero weight has no images")
        self.sizes, self.seed, self.total, self.start = list(sizes), seed, total, start
        w = np.asarray(weights, np.float64)
        self.p = w / w.sum()

    def __len__(self) -> int:
        return max(0, self.total - self.start)

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 7919]))
        orders = [rng.permutation(n) if n else np.zeros(0, np.int64) for n in self.sizes]
        pos = [0] * len(self.sizes)
        for k in range(self.total):
            s = int(rng.choice(len(self.sizes), p=self.p)) if len(self.sizes) > 1 else 0
            if pos[s] >= self.sizes[s]:
                orders[s] = rng.permutation(self.sizes[s])
                pos[s] = 0
            idx = int(orders[s][pos[s]])
            pos[s] += 1
            aug_seed = int(rng.integers(0, 2**63 - 1))
            if k >= self.start:
                yield (s, idx, aug_seed)


def collate(batch: list) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    images, targets = zip(*batch)
    return list(images), list(targets)
