"""Seed 002: softmax classification, one step of gradient descent, every number printed.

One Linear(2 -> 3) layer, softmax and cross-entropy on x = [8, 7], t = [0, 0, 1], learning
rate 1. Run from the repository root:

    python examples/softmax.py

The same as `backprop example softmax`; the second half is `backprop example softmax --explain`.
"""

import numpy as np

import backprop as bp
from backprop.examples import softmax

result = softmax.run(seed=0)
print(softmax.report(result))

# The same step again, traced: every layer's input and output, dL/dz = p - t, dL/dW, dL/db,
# finite differences beside each gradient, and the update W - eta dL/dW.
layer = softmax.build(weight=0.5, bias=1.0)
print(bp.explain(layer, bp.SoftmaxCrossEntropy(), softmax.X, np.array([softmax.LABEL]), lr=1.0, precision=8))
