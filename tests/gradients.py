"""The finite-difference check the layer tests share (pytest puts this folder on sys.path)."""

import numpy as np
import pytest


def check_gradients(layer, x, rng, h=1e-6, elements=3):
    """Central differences of f = sum(r * layer(x)) against backward, for x and every parameter.

    Along a random direction v (Taura's grad_check): (f(a + h v) - f(a - h v)) / 2h vs <grad, v>,
    then along a few single coordinates.
    """
    r = rng.standard_normal(layer(x).shape)
    grads = {"input": layer.backward(r).copy()}
    grads.update({name: g.copy() for name, g in layer.grads.items()})

    def f():
        return float(np.sum(r * layer(x)))

    for name, a in {"input": x, **layer.params}.items():
        directions = [rng.standard_normal(a.shape)]
        for flat in rng.choice(a.size, size=min(elements, a.size), replace=False):
            e = np.zeros(a.shape)
            e.flat[flat] = 1.0
            directions.append(e)
        for v in directions:
            saved = a.copy()
            a += h * v
            f_plus = f()
            a[...] = saved - h * v
            f_minus = f()
            a[...] = saved
            numeric = (f_plus - f_minus) / (2 * h)
            analytic = float(np.sum(grads[name] * v))
            assert numeric == pytest.approx(analytic, rel=1e-6, abs=1e-8), name
