"""Data sets as NumPy arrays: real ones read from disk, small ones bundled, synthetic ones.

- ``load_idx(path)``, ``save_idx(path, array)``: IDX files (MNIST's format), gzip or plain
- ``load_mnist(directory, kind)``: MNIST images ``(N, 28, 28)`` uint8 and labels ``(N,)``
- ``load_digits(flatten=False)``: scikit-learn's 1,797 8x8 digits, scaled to [0, 1]
- ``load_csv(path, target)``: a numeric CSV table as features ``(N, D)`` and target ``(N,)``
- ``train_val_test_split(x, y, ...)``, ``train_test_split(x, y, ...)``: seeded splits,
  stratified by class for integer labels
- ``polynomial(n)``: the seeds' regression data ``t = w2 x^2 + w1 x + w0 + noise``
- ``polynomial_features(x, degree)``: the columns ``x, x^2, ..., x^degree``
- ``mnist_like(n)``: random data of MNIST's shape, for benchmarks
- ``playground(name, n, noise)``: TensorFlow Playground's 2-D problems (circle, xor, gaussian,
  spirals, two regression surfaces)

Nothing here uses pickle: every file format read is plain data.
"""

from .digits import load_digits
from .idx import load_idx, save_idx
from .mnist import DownloadError, load_mnist
from .playground import PLAYGROUND, playground
from .split import train_test_split, train_val_test_split
from .synthetic import mnist_like, polynomial, polynomial_features
from .tabular import load_csv

__all__ = [
    "PLAYGROUND",
    "DownloadError",
    "load_csv",
    "load_digits",
    "load_idx",
    "load_mnist",
    "mnist_like",
    "playground",
    "polynomial",
    "polynomial_features",
    "save_idx",
    "train_test_split",
    "train_val_test_split",
]
