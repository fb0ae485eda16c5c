"""Each framework's trial by name: ``TRIALS[framework](spec, data, threads)`` readies a workload."""

from __future__ import annotations

from collections.abc import Callable

from .jaxrun import jax_reshape_trial, jax_trial
from .ours import ours_trial
from .pytorch import torch_nchw_trial, torch_trial
from .workloads import Data, Spec, Trial

TRIALS: dict[str, Callable[[Spec, Data, int], Trial]] = {
    "ours": ours_trial,
    "torch": torch_trial,
    "torch-nchw": torch_nchw_trial,
    "jax": jax_trial,
    "jax-reshape": jax_reshape_trial,
}
