"""Seeds 000 and 001: networks with sigmoid hidden layers, for classes and for values.

A softmax output with the cross-entropy on the 8x8 digits, and a linear output with the squared
error on scikit-learn's diabetes data; then seed 001's rule that averaging over a batch divides
the output error Delta = -2 (y - O) by N. Run from the repository root:

    python examples/sigmoid.py

The same as `backprop example sigmoid`.
"""

from backprop.examples import sigmoid

result = sigmoid.run(seed=0)
print(sigmoid.report(result), end="")
