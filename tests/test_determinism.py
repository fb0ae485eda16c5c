"""A seed gives the same bits run after run at any one thread count (issue 22).

BLAS's own threading may change the last bits of a product between thread counts (and the
convolution's im2col blocks follow the thread count), so each count is compared with itself.
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import backprop as bp
from backprop import architectures


def train(name, threads):
    with threadpool_limits(limits=threads, user_api="blas"):
        model = architectures.build(name, (1, 28, 28), 10, rng=0)
        x, y = bp.datasets.mnist_like(96, seed=1, dtype=np.float32)
        history = bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.05, momentum=0.9), x, y,
                         epochs=2, batch_size=32, progress=False, seed=3)
        return history["loss"], [p.copy() for p in model.params.values()], bp.predict(model, x)


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", ["cnn", "resnet"])
def test_a_seed_gives_the_same_bits_at_one_thread_count(name, threads):
    first, second = train(name, threads), train(name, threads)
    assert first[0] == second[0]
    for a, b in zip(first[1], second[1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first[2], second[2])
