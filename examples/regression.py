"""Seed 003: fit f(x) = w2 x^2 + w1 x + w0 by gradient descent and by SGD.

Both trainings are compared with the least-squares solution from numpy.linalg.lstsq, and the
data, the fits and the loss curves are drawn to runs/example-regression.png. Run from the
repository root:

    python examples/regression.py

The same as `backprop example regression`.
"""

from backprop.examples import regression

result = regression.run(seed=0, plot=regression.DEFAULT_PLOT)
print(regression.report(result), end="")
