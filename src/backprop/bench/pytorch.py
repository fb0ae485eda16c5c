"""PyTorch, eager: a plain training loop, inference under ``inference_mode``.

The convolutional workloads (W2, W5 LeNet-5, W6 the ResNet) run twice: channels-last
(``torch``, PyTorch's faster CPU layout for convolutions) and NCHW (``torch-nchw``, its
default layout), so the report gives our ratio to both. Each network is the one
``architectures.build`` makes, layer for layer: the same shapes, biases, BatchNorm settings.

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


def _lenet5(nn: Any) -> Any:
    c1, c2, *hidden = LENET5
    layers = [
        nn.Conv2d(1, c1, 5, padding=2),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Conv2d(c1, c2, 5),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Flatten(),
    ]
    size = c2 * ((IMAGE // 2 - 4) // 2) ** 2
    for units in hidden:
        layers += [nn.Linear(size, units), nn.Tanh()]
        size = units
    return nn.Sequential(*layers, nn.Linear(size, CLASSES))


def _resnet(torch: Any) -> Any:
    nn = torch.nn

    class Block(nn.Module):  # type: ignore[name-defined]  # torch arrives as Any, at run time
        """Conv-BN-ReLU-Conv-BN plus the input (or its 1x1 Conv-BN projection), then ReLU."""

        def __init__(self, channels_in: int, channels: int, stride: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(channels_in, channels, 3, stride, 1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(),
                nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                nn.BatchNorm2d(channels),
            )
            self.shortcut = (
                nn.Sequential(
                    nn.Conv2d(channels_in, channels, 1, stride, bias=False), nn.BatchNorm2d(channels)
                )
                if stride != 1 or channels_in != channels
                else nn.Identity()
            )

        def forward(self, x: Any) -> Any:
            return torch.relu(self.body(x) + self.shortcut(x))

    width = RESNET_WIDTHS[0]
    layers = [nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    for stage, channels in enumerate(RESNET_WIDTHS):
        layers += [Block(width, channels, 1 if stage == 0 else 2), Block(channels, channels, 1)]
        width = channels
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, CLASSES))


def _torch_model(torch: Any, kind: str, channels_last: bool = True) -> Any:
    nn = torch.nn
    layout = torch.channels_last if channels_last else torch.contiguous_format
    if kind == "lenet5":
        return _lenet5(nn).to(memory_format=layout)
    if kind == "resnet":
        return _resnet(torch).to(memory_format=layout)
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
        ).to(memory_format=layout)
    sizes, activation = (SIGMOID_MLP, nn.Sigmoid) if kind == "sigmoid-mlp" else (MLP, nn.ReLU)
    layers: list[Any] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*layers[:-1])


def _torch_run(torch: Any, spec: Spec, data: Data, channels_last: bool = True) -> Callable[[], float]:
    x, y = data.x[: spec.samples], data.y[: spec.samples]
    if spec.model in IMAGE_MODELS:
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
            if spec.per_call:
                for start in range(0, n, b):
                    torch.softmax(model(X[start : start + b]), dim=1)
            else:
                torch.cat([model(X[start : start + b]) for start in range(0, n, b)])

    return lambda: timed(setup, train if spec.train else infer)


def torch_trial(spec: Spec, data: Data, threads: int, channels_last: bool = True) -> Trial:
    """PyTorch eager with ``threads`` intra-op threads; the CNNs channels-last unless told otherwise."""
    import torch

    torch.set_num_threads(threads)
    measure = _torch_run(torch, spec, data, channels_last)
    warm = _torch_run(torch, warm_spec(spec), data, channels_last)
    return Trial(measure, warm)


def torch_nchw_trial(spec: Spec, data: Data, threads: int) -> Trial:
    """PyTorch eager, the CNNs in NCHW (PyTorch's default layout); ``torch-nchw`` runs only those."""
    return torch_trial(spec, data, threads, channels_last=False)
