"""Ours: a workload through the public path a user takes, ``bp.fit`` and ``bp.predict``.

The network is ``architectures.build``'s and the loss and optimiser ``setup.training_setup``'s,
as ``backprop train`` builds them: softmax cross-entropy, plain SGD at the workload's rate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import backprop as bp

from ..architectures import build
from ..setup import Setup, training_setup
from .workloads import (
    CLASSES,
    CNN_HIDDEN,
    IMAGE,
    IMAGE_MODELS,
    LENET5,
    MLP,
    RESNET_WIDTHS,
    SIGMOID_MLP,
    Data,
    Spec,
    Trial,
    timed,
    warm_spec,
)


def our_model(kind: str) -> bp.Sequential:
    """The workload's network, float32, seed 0: ``architectures.build``, as ``backprop train`` builds it."""
    input_shape = (1, IMAGE, IMAGE) if kind in IMAGE_MODELS else (IMAGE * IMAGE,)
    hidden = {
        "cnn": (CNN_HIDDEN,),
        "mlp": MLP[1:-1],
        "sigmoid-mlp": SIGMOID_MLP[1:-1],
        "lenet5": LENET5[2:],
        "resnet": RESNET_WIDTHS,
    }[kind]
    return build(kind, input_shape, CLASSES, hidden, dtype=np.float32, rng=0)


def _ours_run(spec: Spec, data: Data) -> Callable[[], float]:
    x, y = data.x[: spec.samples], data.y[: spec.samples]
    if spec.model not in IMAGE_MODELS:
        x = x.reshape(len(x), -1)  # a view: the MLPs take (N, 784)

    def setup() -> tuple[bp.Sequential, Setup]:
        model = our_model(spec.model)
        return model, training_setup(model, "classification", CLASSES, optimizer="sgd", lr=spec.lr)

    def train(state: tuple[bp.Sequential, Setup]) -> None:
        model, made = state
        bp.fit(
            model,
            made.loss,
            made.optimizer,
            x,
            y,
            epochs=1,
            batch_size=spec.batch_size,
            progress=False,
            seed=0,
        )

    def infer(state: tuple[bp.Sequential, Setup]) -> None:
        if spec.per_call:
            for start in range(0, len(x), spec.batch_size):
                bp.predict(state[0], x[start : start + spec.batch_size])
        else:
            bp.predict(state[0], x, batch_size=spec.batch_size, probabilities=False)

    return lambda: timed(setup, train if spec.train else infer)


def ours_trial(spec: Spec, data: Data, threads: int) -> Trial:
    """Our library through ``bp.fit`` / ``bp.predict`` (``threads`` is NumPy's BLAS's own)."""
    measure, warm = _ours_run(spec, data), _ours_run(warm_spec(spec), data)
    return Trial(measure, warm)
