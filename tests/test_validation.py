"""One rule per kind of argument, the same in every room (``backprop.validation``).

Before, ``bp.Linear(True, 3)`` built ``Linear(1 -> 3)`` and ``fit(batch_size=True)`` trained: a
``bool`` is an ``int`` in Python, and each room had its own check.
"""

import numpy as np
import pytest

import backprop as bp
from backprop import validation


def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((20, 3)).astype(np.float32), rng.integers(0, 2, 20)


def model():
    return bp.Sequential(bp.Linear(3, 2, rng=0))


REFUSED = [
    (lambda: bp.Linear(True, 3), r"^Linear: in_features must be a positive integer, got True$"),
    (lambda: bp.Linear(3, 2.0), r"^Linear: out_features must be a positive integer, got 2.0$"),
    (lambda: bp.Linear(3, 2, bias="yes"), r"^Linear: bias must be True or False, got 'yes'$"),
    (lambda: bp.Conv2d(np.int64(1), 2, 3, bias=1), r"^Conv2d: bias must be True or False, got 1$"),
    (lambda: bp.Conv2d(False, 2, 3), r"^Conv2d: in_channels must be a positive integer, got False$"),
    (lambda: bp.MaxPool2d(True), r"kernel_size must be a positive integer or a pair of them, got True"),
    (lambda: bp.Dropout(True), r"^Dropout: p must be a probability in \[0, 1\), got True$"),
    (lambda: bp.Dropout(float("nan")), r"^Dropout: p must be a probability in \[0, 1\), got nan$"),
    (lambda: bp.SGD(model(), True), r"^SGD: lr must be a positive number, got True$"),
    (lambda: bp.SGD(model(), 0.1, momentum=np.float64("inf")), r"^SGD: momentum must be a number in \[0, 1\)"),
    (lambda: bp.SGD(model(), 0.1, nesterov=1), r"^SGD: nesterov must be True or False, got 1$"),
    (lambda: bp.Adam(model(), 1e-3, eps=0), r"^Adam: eps must be a positive number, got 0$"),
    (lambda: bp.fit(m := model(), bp.SoftmaxCrossEntropy(), bp.SGD(m, 0.1), *data(), batch_size=True),
     r"^fit: batch_size must be a positive integer or None, got True$"),
    (lambda: bp.fit(m := model(), bp.SoftmaxCrossEntropy(), bp.SGD(m, 0.1), *data(), epochs=2.0),
     r"^fit: epochs must be a non-negative integer, got 2.0$"),
    (lambda: bp.fit(m := model(), bp.SoftmaxCrossEntropy(), bp.SGD(m, 0.1), *data(), shuffle="no"),
     r"^fit: shuffle must be True or False, got 'no'$"),
    (lambda: bp.evaluate(model(), bp.SoftmaxCrossEntropy(), *data(), batch_size=False),
     r'^evaluate: batch_size must be a positive integer, None or "auto", got False$'),
    (lambda: bp.predict(model(), data()[0], batch_size=0), r"^predict: batch_size must be a positive integer"),
    (lambda: bp.predict(model(), data()[0], batch_size="Auto"),
     r'^predict: batch_size must be a positive integer, None or "auto", got \'Auto\'$'),
]


@pytest.mark.parametrize(("call", "message"), REFUSED)
def test_every_room_refuses_a_bool_or_a_float_where_it_wants_an_integer(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_numpy_numbers_are_numbers():
    layer = bp.Linear(np.int64(3), np.int32(2))
    assert (layer.in_features, layer.out_features) == (3, 2) and type(layer.in_features) is int
    assert bp.SGD(bp.Sequential(layer), np.float32(0.5), momentum=np.float64(0.9)).momentum == 0.9
    assert validation.flag("x", "y", np.bool_(True)) is True


@pytest.mark.parametrize(
    ("value", "integer", "number"),
    [(True, False, False), (3, True, True), (np.int8(3), True, True), (3.0, False, True), (np.nan, False, False),
     (np.inf, False, False), ("3", False, False), (None, False, False)],
)
def test_what_counts_as_an_integer_and_a_number(value, integer, number):
    assert validation.is_integer(value) is integer and validation.is_number(value) is number
