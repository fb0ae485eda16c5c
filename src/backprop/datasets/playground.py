"""TensorFlow Playground's two-dimensional problems, for the lab and for small experiments.

Points ``(x1, x2)`` lie in the square ``[-6, 6]^2``; each problem is the one the Playground
draws (its ``dataset.ts``), so a lesson written for it carries over:

=================  =============================================================================
``circle``         label 1 inside radius 2.5, label 0 on the ring from 3.5 to 5
``xor``            label 1 where ``x1 x2 > 0``, 0 elsewhere; points keep 0.3 away from the axes
``gaussian``       two round clouds, label 1 around (2, 2), label 0 around (-2, -2)
``spiral``         two interleaved spirals, labels 0 and 1
``spiral3``        three interleaved spirals, labels 0, 1, 2
``plane``          regression: ``t = (x1 + x2) / 10``, in [-1, 1]
``multigaussian``  regression: a sum of six signed Gaussian bumps, in [-1, 1]
=================  =============================================================================

``noise`` in [0, 1] moves each coordinate uniformly by up to ``2.5 noise`` (the spirals: up to
``noise``; ``gaussian``: the clouds' variance grows from 0.5 to 4, as in the Playground). The
labels and targets stay those of the clean point, so noisy points can cross the boundary.
Classes come out balanced (their counts differ by at most one) and shuffled; the seed decides
everything.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from ..dtypes import resolve_dtype
from ..random import as_generator

__all__ = ["PLAYGROUND", "playground"]

PLAYGROUND = ("circle", "xor", "gaussian", "spiral", "spiral3", "plane", "multigaussian")
REGRESSION = ("plane", "multigaussian")
RADIUS = 5.0  # the Playground's scale: points within [-6, 6] once noise is added

# multigaussian's bumps: (centre x1, centre x2, sign), each of standard deviation 1.
_BUMPS = ((-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0), (-4.0, -2.5, -1.0), (0.0, -2.5, 1.0),
          (4.0, -2.5, -1.0))


def playground(
    name: str,
    n: int = 500,
    noise: float = 0.0,
    seed: int | np.random.Generator | None = 0,
    dtype: DTypeLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of the Playground problem ``name``: ``x`` ``(n, 2)`` and ``y``.

    ``y`` is int64 labels ``(n,)`` for the classification problems, float targets ``(n, 1)``
    in [-1, 1] for ``plane`` and ``multigaussian``. ``noise`` is in [0, 1]; ``dtype`` is float32
    by default (the library's default dtype).
    """
    if name not in PLAYGROUND:
        raise ValueError(f"playground: unknown problem {name!r}; choose one of {', '.join(PLAYGROUND)}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"playground: n must be an int >= 1, got {n!r}")
    if not (isinstance(noise, int | float) and not isinstance(noise, bool) and 0 <= noise <= 1):
        raise ValueError(f"playground: noise must be a number in [0, 1], got {noise!r}")
    dtype = resolve_dtype(dtype, "playground")
    rng = as_generator(seed)
    n = int(n)
    if name in REGRESSION:
        clean = rng.uniform(-RADIUS, RADIUS, (n, 2))
        target = _plane(clean) if name == "plane" else _bumps(clean)
        x = clean + noise * rng.uniform(-RADIUS, RADIUS, (n, 2)) / 2
        return x.astype(dtype), target.reshape(n, 1).astype(dtype)
    classes = 3 if name == "spiral3" else 2
    labels = np.sort(np.arange(n) % classes)
    draw = {"circle": _circle, "xor": _xor, "gaussian": _gaussian}.get(name, _spiral)
    x = draw(labels, noise, rng)
    order = rng.permutation(n)
    return x[order].astype(dtype), labels[order].astype(np.int64)


def _circle(labels: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    inside = labels == 1
    near, far = rng.uniform(0, RADIUS / 2, len(labels)), rng.uniform(0.7 * RADIUS, RADIUS, len(labels))
    radius = np.where(inside, near, far)
    angle = rng.uniform(0, 2 * np.pi, len(labels))
    points = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return points + noise * rng.uniform(-RADIUS, RADIUS, points.shape) / 2


def _xor(labels: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    # |x| in [0.3, 5] on each axis; the quadrant's sign product gives the label
    magnitude = rng.uniform(0.3, RADIUS, (len(labels), 2))
    first = rng.choice([-1.0, 1.0], len(labels))
    second = np.where(labels == 1, first, -first)
    points = magnitude * np.stack([first, second], axis=1)
    return points + noise * rng.uniform(-RADIUS, RADIUS, points.shape) / 2


def _gaussian(labels: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    centre = np.where(labels[:, None] == 1, 2.0, -2.0)
    spread = np.sqrt(0.5 + 3.5 * noise)  # the Playground's variance 0.5 to 4
    return centre + spread * rng.standard_normal((len(labels), 2))


def _spiral(labels: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    classes = int(labels.max()) + 1
    points = np.empty((len(labels), 2))
    for label in range(classes):
        mine = labels == label
        fraction = np.arange(mine.sum()) / max(1, mine.sum())
        radius = fraction * RADIUS
        angle = 1.75 * fraction * 2 * np.pi + label * 2 * np.pi / classes
        points[mine] = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return points + noise * rng.uniform(-1, 1, points.shape)


def _plane(points: np.ndarray) -> np.ndarray:
    return (points[:, 0] + points[:, 1]) / (2 * RADIUS)


def _bumps(points: np.ndarray) -> np.ndarray:
    total = np.zeros(len(points))
    for cx, cy, sign in _BUMPS:
        total += sign * np.exp(-((points[:, 0] - cx) ** 2 + (points[:, 1] - cy) ** 2) / 2)
    return np.clip(total, -1.0, 1.0)
