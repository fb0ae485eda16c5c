"""backprop: neural networks in NumPy, every gradient the chain rule written out by hand.

    import backprop as bp
    model = bp.Sequential(bp.Linear(784, 256), bp.ReLU(), bp.Linear(256, 10))
    loss = bp.SoftmaxCrossEntropy()
    value = loss(model(x), labels)
    model.backward(loss.backward())      # sets model.grads
"""

from . import datasets, init
from ._version import __version__ as __version__
from .check import GradcheckError, GradcheckResult, gradcheck, jacobian
from .checkpoint import read_checkpoint
from .dtypes import get_default_dtype, set_default_dtype
from .explain import explain
from .io import load, save
from .layers.activations import GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .layers.average_pooling import AvgPool2d, GlobalAvgPool2d
from .layers.base import Layer
from .layers.batch_norm import BatchNorm1d, BatchNorm2d
from .layers.conv import Conv2d
from .layers.dropout import Dropout
from .layers.layer_norm import LayerNorm
from .layers.linear import Linear
from .layers.pooling import MaxPool2d
from .layers.shape import Flatten
from .losses import (
    BinaryCrossEntropy,
    CrossEntropy,
    Loss,
    MSELoss,
    PoissonNLLLoss,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
)
from .model import Sequential
from .notebook import LivePlot
from .optim import SGD, Adam, CosineLR, LRSchedule, Optimizer, StepLR
from .residual import Residual
from .state import History, TrainState
from .training import DivergenceError, TrainingInterrupted, evaluate, fit, predict


def __getattr__(name: str) -> object:
    # bp.distributed imports mpi4py (and starts MPI), so it is loaded only when asked for.
    if name == "distributed":
        import importlib

        return importlib.import_module(".distributed", __name__)
    raise AttributeError(f"module 'backprop' has no attribute {name!r}")


__all__ = [
    "GELU",
    "SGD",
    "Adam",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "BinaryCrossEntropy",
    "Conv2d",
    "CosineLR",
    "CrossEntropy",
    "DivergenceError",
    "Dropout",
    "Flatten",
    "GlobalAvgPool2d",
    "GradcheckError",
    "GradcheckResult",
    "History",
    "LRSchedule",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LivePlot",
    "Loss",
    "MSELoss",
    "MaxPool2d",
    "Optimizer",
    "PoissonNLLLoss",
    "ReLU",
    "Residual",
    "Sequential",
    "Sigmoid",
    "SigmoidBinaryCrossEntropy",
    "Softmax",
    "SoftmaxCrossEntropy",
    "StepLR",
    "Tanh",
    "TrainState",
    "TrainingInterrupted",
    "datasets",
    "evaluate",
    "explain",
    "fit",
    "get_default_dtype",
    "gradcheck",
    "init",
    "jacobian",
    "load",
    "predict",
    "read_checkpoint",
    "save",
    "set_default_dtype",
]
