"""backprop: neural networks in NumPy, every gradient the chain rule written out by hand.

    import backprop as bp
    model = bp.Sequential(bp.Linear(784, 256), bp.ReLU(), bp.Linear(256, 10))
    loss = bp.SoftmaxCrossEntropy()
    value = loss(model(x), labels)
    model.backward(loss.backward())      # sets model.grads
"""

from . import init
from .check import GradcheckError, GradcheckResult, gradcheck, jacobian
from .dtypes import get_default_dtype, set_default_dtype
from .layers.activations import ReLU, Sigmoid, Softmax, Tanh
from .layers.base import Layer
from .layers.dropout import Dropout
from .layers.linear import Linear
from .losses import BinaryCrossEntropy, CrossEntropy, Loss, MSELoss, SoftmaxCrossEntropy
from .model import Sequential
from .optim import SGD, Adam, CosineLR, StepLR
from .training import DivergenceError, History, evaluate, fit, predict

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Adam",
    "BinaryCrossEntropy",
    "CosineLR",
    "CrossEntropy",
    "DivergenceError",
    "Dropout",
    "GradcheckError",
    "GradcheckResult",
    "History",
    "Layer",
    "Linear",
    "Loss",
    "MSELoss",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "SoftmaxCrossEntropy",
    "StepLR",
    "Tanh",
    "evaluate",
    "fit",
    "get_default_dtype",
    "gradcheck",
    "init",
    "jacobian",
    "predict",
    "set_default_dtype",
]
