"""Ours: a workload through the public path a user takes, ``bp.fit`` and ``bp.predict``."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

import backprop as bp

from .workloads import (
    CLASSES,
    CNN_CHANNELS,
    CNN_HIDDEN,
    IMAGE,
    MLP,
    SIGMOID_MLP,
    Data,
    Spec,
    Trial,
    timed,
    warm_spec,
)


def _our_model(kind: str) -> bp.Sequential:
    rng = np.random.default_rng(0)
    f32 = np.float32
    if kind == "cnn":
        (c0, c1, c2), flat = CNN_CHANNELS, CNN_CHANNELS[2] * (IMAGE // 4) ** 2
        return bp.Sequential(
            bp.Conv2d(c0, c1, 3, padding=1, dtype=f32, rng=rng),
            bp.ReLU(),
            bp.MaxPool2d(2),
            bp.Conv2d(c1, c2, 3, padding=1, dtype=f32, rng=rng),
            bp.ReLU(),
            bp.MaxPool2d(2),
            bp.Flatten(),
            bp.Linear(flat, CNN_HIDDEN, dtype=f32, rng=rng),
            bp.ReLU(),
            bp.Linear(CNN_HIDDEN, CLASSES, dtype=f32, rng=rng),
        )
    sizes, activation = (SIGMOID_MLP, bp.Sigmoid) if kind == "sigmoid-mlp" else (MLP, bp.ReLU)
    layers: list[bp.Layer] = []
    for a, b in itertools.pairwise(sizes):
        layers += [bp.Linear(a, b, dtype=f32, rng=rng), activation()]
    return bp.Sequential(*layers[:-1])


def _ours_run(spec: Spec, data: Data) -> Callable[[], float]:
    x, y = data.x[: spec.samples], data.y[: spec.samples]
    if spec.model != "cnn":
        x = x.reshape(len(x), -1)  # a view: the MLPs take (N, 784)

    def setup() -> tuple[bp.Sequential, bp.SGD]:
        model = _our_model(spec.model)
        return model, bp.SGD(model, spec.lr)

    def train(state: tuple[bp.Sequential, bp.SGD]) -> None:
        model, optimizer = state
        bp.fit(
            model,
            bp.SoftmaxCrossEntropy(),
            optimizer,
            x,
            y,
            epochs=1,
            batch_size=spec.batch_size,
            progress=False,
            seed=0,
        )

    def infer(state: tuple[bp.Sequential, bp.SGD]) -> None:
        bp.predict(state[0], x, batch_size=spec.batch_size, probabilities=False)

    return lambda: timed(setup, train if spec.train else infer)


def ours_trial(spec: Spec, data: Data, threads: int) -> Trial:
    """Our library through ``bp.fit`` / ``bp.predict`` (``threads`` is NumPy's BLAS's own)."""
    measure, warm = _ours_run(spec, data), _ours_run(warm_spec(spec), data)
    return Trial(measure, warm)
