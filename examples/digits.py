"""Seed 003: the digit network softmax(W2 ReLU(W1 ReLU(W0 x))), bias-free, trained by plain SGD.

Trained on 80 % of the 8x8 digits that scikit-learn ships and tested on the rest. Run from the
repository root:

    python examples/digits.py

The same as `backprop example digits`.
"""

from backprop.examples import digits

result = digits.run_digits(seed=0)
print(digits.report_digits(result), end="")
