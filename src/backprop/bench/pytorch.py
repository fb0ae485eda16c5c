"""PyTorch, eager: a plain training loop, inference under ``inference_mode``.

W2 runs twice: channels-last (``torch``, PyTorch's faster CPU layout for convolutions) and
NCHW (``torch-nchw``, its default layout), so the report gives our ratio to both.

torch is imported only inside ``torch_trial``: without it everything else works.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

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


def _torch_model(torch: Any, kind: str, channels_last: bool = True) -> Any:
    nn = torch.nn
    if kind == "cnn":
        (c0, c1, c2), flat = CNN_CHANNELS, CNN_CHANNELS[2] * (IMAGE // 4) ** 2
        return nn.Sequential(
            nn.Conv2d(c0, c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(flat, CNN_HIDDEN),
            nn.ReLU(),
            nn.Linear(CNN_HIDDEN, CLASSES),
        ).to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    sizes, activation = (SIGMOID_MLP, nn.Sigmoid) if kind == "sigmoid-mlp" else (MLP, nn.ReLU)
    layers: list[Any] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*layers[:-1])


def _torch_run(torch: Any, spec: Spec, data: Data, channels_last: bool = True) -> Callable[[], float]:
    x, y = data.x[: spec.samples], data.y[: spec.samples]
    if spec.model == "cnn":
        layout = torch.channels_last if channels_last else torch.contiguous_format
        X = torch.from_numpy(x).contiguous(memory_format=layout)
    else:
        X = torch.from_numpy(x.reshape(len(x), -1))  # shares the memory, as ours does
    Y = torch.from_numpy(y)
    n, b = len(x), spec.batch_size

    def setup() -> tuple[Any, Any]:
        torch.manual_seed(0)
        model = _torch_model(torch, spec.model, channels_last)
        return model, torch.optim.SGD(model.parameters(), lr=spec.lr)

    def train(state: tuple[Any, Any]) -> None:
        model, optimizer = state
        criterion = torch.nn.CrossEntropyLoss()
        order = torch.randperm(n)
        for start in range(0, n, b):
            index = order[start : start + b]
            optimizer.zero_grad(set_to_none=True)
            criterion(model(X[index]), Y[index]).backward()
            optimizer.step()

    def infer(state: tuple[Any, Any]) -> None:
        model = state[0].eval()
        with torch.inference_mode():
            torch.cat([model(X[start : start + b]) for start in range(0, n, b)])

    return lambda: timed(setup, train if spec.train else infer)


def torch_trial(spec: Spec, data: Data, threads: int, channels_last: bool = True) -> Trial:
    """PyTorch eager with ``threads`` intra-op threads; W2 channels-last unless ``channels_last=False``."""
    import torch

    torch.set_num_threads(threads)
    measure = _torch_run(torch, spec, data, channels_last)
    warm = _torch_run(torch, warm_spec(spec), data, channels_last)
    return Trial(measure, warm)


def torch_nchw_trial(spec: Spec, data: Data, threads: int) -> Trial:
    """PyTorch eager, W2 in NCHW (PyTorch's default layout); the peer ``torch-nchw`` runs only W2."""
    return torch_trial(spec, data, threads, channels_last=False)
