"""Seed 003: convolution, ReLU, max-pool, linear, softmax on the 8x8 digits, trained by plain SGD.

Run from the repository root:

    python examples/cnn.py

The same as `backprop example cnn`.
"""

from backprop.examples import digits

result = digits.run_cnn(seed=0)
print(digits.report_cnn(result), end="")
