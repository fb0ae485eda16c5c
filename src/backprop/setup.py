"""The training set-up from names and numbers: the loss, the optimiser and the schedule.

``backprop train`` (its options), the scikit-learn estimators (their hyper-parameters) and the
benchmark (its workloads) all describe a set-up the same way, ``optimizer="sgd", lr=0.1,
momentum=0.9, schedule="cosine"``; this module is the one place that turns such a description
into objects, so the three build the very same optimiser from the same numbers, and a new
option is added once:

- the loss from the task and the network's outputs (``targets.loss_for``: softmax
  cross-entropy for K logits, the fused sigmoid cross-entropy for one, squared error for a
  regression);
- ``make_optimizer``: ``"sgd"`` (``SGD``: momentum, Nesterov, L2 weight decay) or ``"adam"``
  (``Adam``: L2 weight decay; its betas and eps are Adam's defaults);
- ``make_schedule``: ``"cosine"`` (``CosineLR`` to 0 over the epochs), ``"step"`` (``StepLR``:
  x0.1 every third of the epochs) or ``"none"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .losses import Loss
from .optim import SGD, Adam, CosineLR, LRSchedule, Optimizer, StepLR
from .targets import loss_for

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "Setup",
    "loss_for",
    "make_optimizer",
    "make_schedule",
    "training_setup",
]

#: The optimisers by name.
OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}
#: The learning-rate schedules by name.
SCHEDULES = ("cosine", "step", "none")


@dataclass
class Setup:
    """What ``bp.fit`` trains a model with, besides the model and the data."""

    loss: Loss
    optimizer: Optimizer
    schedule: LRSchedule | None


def make_optimizer(
    name: str,
    model: Any,
    lr: float,
    *,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> Optimizer:
    """``SGD(model, lr, momentum, nesterov, weight_decay)`` or ``Adam(model, lr, weight_decay)``.

    ``momentum`` and ``nesterov`` are SGD's; Adam has its own moments and ignores them.
    """
    if name == "sgd":
        return SGD(model, lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    if name == "adam":
        return Adam(model, lr, weight_decay=weight_decay)
    raise ValueError(f"make_optimizer: expected one of {', '.join(OPTIMIZERS)}, got {name!r}")


def make_schedule(name: str, optimizer: Optimizer, epochs: int) -> LRSchedule | None:
    """The learning-rate schedule over ``epochs``: cosine annealing, step (x0.1 every third) or none."""
    if name == "cosine":
        return CosineLR(optimizer, epochs)
    if name == "step":
        return StepLR(optimizer, max(1, epochs // 3))
    if name == "none":
        return None
    raise ValueError(f"make_schedule: expected one of {', '.join(SCHEDULES)}, got {name!r}")


def training_setup(
    model: Any,
    task: str,
    outputs: int,
    *,
    optimizer: str = "sgd",
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    schedule: str = "none",
    epochs: int = 1,
) -> Setup:
    """The loss for ``task`` (``"classification"`` or ``"regression"``) and ``outputs`` units, the
    optimiser ``optimizer`` of ``model`` and the schedule ``schedule`` over ``epochs``."""
    made = make_optimizer(
        optimizer, model, lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
    )
    return Setup(loss_for(task, outputs), made, make_schedule(schedule, made, epochs))
