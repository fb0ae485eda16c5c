"""The SGD update fused into the weight-gradient product inside ``fit`` (``SGD.fused_updates``).

For the length of ``fit``, plain or momentum SGD installs a hook (``Layer.grad_hooks``) on each
large Linear weight, and that layer's backward hands the hook the factors of ``(dL/dy)^T x``:
``W <- W - eta (dL/dy)^T x`` in one GEMM. These tests show it gives the ordinary step's weights
(float64, several steps), that it is really taken, that a machine without NumPy's OpenBLAS
takes the ordinary path, that a fused weight's gradient is visibly absent (None), never stale,
and that what reads gradients after ``fit`` (gradcheck, explain, a user's backward) still works.
"""

import numpy as np
import pytest

import backprop as bp
from backprop import blas

needs_blas = pytest.mark.skipif(blas.routines() is None, reason="no BLAS GEMM: the fallback tests cover it")


def data(n=96, features=200, classes=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(dtype), rng.integers(0, classes, n)


def network(dtype=np.float64):
    # 200 x 100 = 20,000 weights reach FUSED_MIN_SIZE; the two small layers do not, unless a
    # test lowers it (then the later layers need dL/dx from the weight before its update).
    return bp.Sequential(
        bp.Linear(200, 100, dtype=dtype, rng=1),
        bp.ReLU(),
        bp.Linear(100, 12, dtype=dtype, rng=2),
        bp.Sigmoid(),
        bp.Linear(12, 4, dtype=dtype, rng=3),
    )


@pytest.fixture
def fuse_every_size(monkeypatch):
    monkeypatch.setattr(bp.optim, "FUSED_MIN_SIZE", 1)


def trained(fused, momentum=0.0, dtype=np.float64, epochs=3, batch_size=10, **options):
    x, y = data(dtype=dtype)
    model = network(dtype)
    optimizer = bp.SGD(model, 0.3, momentum=momentum, fused=fused, **options)
    bp.fit(model, bp.SoftmaxCrossEntropy(), optimizer, x, y, epochs=epochs, batch_size=batch_size, progress=False)
    return model, optimizer


@pytest.fixture
def gemm_calls(monkeypatch):
    """Counts the fused path's GEMMs that BLAS took."""
    calls = []
    real = blas.gemm

    def counting(*args, **kwargs):
        done = real(*args, **kwargs)
        calls.append(done)
        return done

    monkeypatch.setattr(bp.optim, "gemm", counting)
    return calls


@needs_blas
@pytest.mark.slow
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("batch_size", [10, 1])
@pytest.mark.parametrize("every_size", [False, True], ids=["large-weights", "every-weight"])
def test_fused_step_gives_the_ordinary_steps_weights(momentum, batch_size, every_size, gemm_calls, request):
    # 96 samples: 10 steps of 10 with a last one of 6, or 96 outer products of one sample.
    if every_size:
        request.getfixturevalue("fuse_every_size")
    ordinary, ordinary_opt = trained(False, momentum, batch_size=batch_size)
    assert gemm_calls == []
    fused, fused_opt = trained(True, momentum, batch_size=batch_size)
    steps = 3 * -(-96 // batch_size)
    fused_layers = 3 if every_size else 1
    assert len(gemm_calls) == fused_layers * steps and all(gemm_calls)  # those weights, every step
    # The two paths round differently (W + alpha gy^T x in one kernel against a product, then
    # an update); up to 288 steps compound that to about 1e-11. A wrong step is off by 1e-2.
    for name, value in ordinary.params.items():
        np.testing.assert_allclose(fused.params[name], value, rtol=1e-9, atol=1e-10, err_msg=name)
        assert not np.allclose(value, network().params[name], rtol=1e-3)  # training moved it
    for key, value in ordinary_opt.state_dict().items():
        np.testing.assert_allclose(fused_opt.state_dict()[key], value, rtol=1e-9, atol=1e-10, err_msg=key)
    assert fused_opt.t == ordinary_opt.t == steps


@needs_blas
def test_fused_step_in_float32_agrees_to_float32_rounding(fuse_every_size):
    ordinary, _ = trained(False, 0.9, dtype=np.float32)
    fused, _ = trained(True, 0.9, dtype=np.float32)
    for name, value in ordinary.params.items():
        assert fused.params[name].dtype == np.float32
        np.testing.assert_allclose(fused.params[name], value, rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_the_same_seed_gives_the_same_bits(momentum, fuse_every_size):
    first, _ = trained(True, momentum)
    again, _ = trained(True, momentum)
    for name, value in first.params.items():
        np.testing.assert_array_equal(again.params[name], value, err_msg=name)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_without_numpys_openblas_the_ordinary_path_is_taken(momentum, monkeypatch, gemm_calls, fuse_every_size):
    monkeypatch.setattr(blas, "_found", None)  # as on NumPy built on MKL or Accelerate
    ordinary, _ = trained(False, momentum)
    fallback, _ = trained(True, momentum)
    assert gemm_calls and not any(gemm_calls)  # asked, declined every time
    for name, value in ordinary.params.items():  # the very same operations: the same bits
        np.testing.assert_array_equal(fallback.params[name], value, err_msg=name)
    assert np.any(fallback.grads["0.weight"] != 0)  # the ordinary backward wrote the gradient


@pytest.mark.parametrize(
    "make",
    [
        lambda model: bp.SGD(model, 0.1, fused=False),
        lambda model: bp.SGD(model, 0.1, weight_decay=1e-3),
        lambda model: bp.SGD(model, 0.1, momentum=0.9, nesterov=True),
        lambda model: bp.Adam(model, 0.01),
    ],
    ids=["fused-off", "weight-decay", "nesterov", "adam"],
)
def test_rules_that_need_the_gradient_are_not_fused(make):
    model = network()
    with make(model).fused_updates():
        assert all(not layer.grad_hooks for layer in model.modules())
    fused = bp.SGD(model, 0.1, momentum=0.5)
    with fused.fused_updates():
        hooked = [(index, name) for index, layer in enumerate(model.layers) for name in layer.grad_hooks]
        assert hooked == [(0, "weight")]  # the one weight of at least FUSED_MIN_SIZE elements
    assert all(not layer.grad_hooks for layer in model.modules())  # removed after the block


def test_sgd_checks_fused():
    with pytest.raises(ValueError, match=r"SGD: fused must be True or False, got 'yes'"):
        bp.SGD(network(), 0.1, fused="yes")


@needs_blas
def test_what_grads_hold_after_fit():
    """As SGD's docstring says: a fused weight's gradient is None after fit's steps, the rest are set."""
    model, _ = trained(True)
    for name, g in model.grads.items():
        if name == "0.weight":  # the one weight of at least FUSED_MIN_SIZE elements
            assert g is None and model.layers[0].grads["weight"] is None  # absent, not stale zeros
        else:
            assert np.any(g != 0), name  # the biases and small weights: set by the last step
    ordinary, _ = trained(False)
    assert all(np.any(g != 0) for g in ordinary.grads.values())  # fused=False writes every one


@needs_blas
def test_a_callback_inside_fit_sees_a_fused_gradient_as_absent_and_the_others_as_this_steps():
    """The issue's case: a callback reading ``model.grads["0.weight"]`` inside ``fit`` saw stale zeros."""
    x, y = data()
    model = network()
    seen = []

    def look(state):
        seen.append({name: None if g is None else g.copy() for name, g in state.model.grads.items()})

    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.3), x, y, epochs=2, batch_size=10, progress=False,
           callbacks=[look])
    assert [grads["0.weight"] for grads in seen] == [None, None]
    assert all(np.any(grads["2.weight"] != 0) for grads in seen)
    assert not np.array_equal(seen[0]["2.weight"], seen[1]["2.weight"])  # each epoch's last step's
    ordinary = network()
    bp.fit(ordinary, bp.SoftmaxCrossEntropy(), bp.SGD(ordinary, 0.3, fused=False), x, y, epochs=1,
           batch_size=10, progress=False, callbacks=[look])
    assert np.any(seen[-1]["0.weight"] != 0)  # fused=False: written every step


@needs_blas
def test_a_users_backward_after_fit_sets_every_gradient_and_gradcheck_passes(fuse_every_size):
    model, _ = trained(True)
    x, y = data(8, seed=5)
    loss = bp.SoftmaxCrossEntropy()
    loss(model(x), y)
    model.backward(loss.backward())
    expected = {name: g.copy() for name, g in model.grads.items()}
    assert all(np.any(g != 0) for g in expected.values())
    ordinary = network()
    ordinary.load_state_dict(model.state_dict())
    loss(ordinary(x), y)
    ordinary.backward(loss.backward())
    for name, g in ordinary.grads.items():
        np.testing.assert_array_equal(expected[name], g, err_msg=name)
    assert bp.gradcheck(model, x, y, loss=loss).passed


@needs_blas
def test_explain_after_a_fused_fit_shows_a_consistent_step(fuse_every_size):
    model, _ = trained(True)
    x, y = data(3, seed=6)
    before = {name: w.copy() for name, w in model.params.items()}
    text = bp.explain(model, bp.SoftmaxCrossEntropy(), x, y, lr=0.1, apply=False)
    assert "they agree" in text and "DISAGREE" not in text
    for name, w in model.params.items():
        np.testing.assert_array_equal(w, before[name], err_msg=name)


def test_fit_never_aliases_a_users_array_with_a_fused_weight():
    """The GEMM writes into the weight only: a model's earlier outputs and the data stay as they were."""
    x, y = data()
    model = network()
    outputs = model(x[:5])
    kept, x_before = outputs.copy(), x.copy()
    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.3), x, y, epochs=1, batch_size=10, progress=False)
    np.testing.assert_array_equal(outputs, kept)
    np.testing.assert_array_equal(x, x_before)


@needs_blas
def test_nested_models_and_layers_without_a_fused_rule_take_part(fuse_every_size, gemm_calls):
    """A Sequential inside a Sequential passes the step on; Conv2d and Flatten run their own backward."""

    def nested():
        return bp.Sequential(
            bp.Conv2d(1, 2, 3, padding=1, dtype=np.float64, rng=4),
            bp.Flatten(),
            bp.Sequential(bp.Linear(2 * 5 * 5, 8, dtype=np.float64, rng=5), bp.Tanh()),
            bp.Linear(8, 3, dtype=np.float64, rng=6),
        )

    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((40, 1, 5, 5)), rng.integers(0, 3, 40)
    results = []
    for fused in (False, True):
        model = nested()
        optimizer = bp.SGD(model, 0.2, momentum=0.5, fused=fused)
        bp.fit(model, bp.SoftmaxCrossEntropy(), optimizer, x, y, epochs=2, batch_size=8, progress=False)
        results.append(model.params)
    assert len(gemm_calls) == 2 * 2 * 5 and all(gemm_calls)  # both Linear weights, 2 epochs of 5 steps
    for name, value in results[0].items():
        np.testing.assert_allclose(results[1][name], value, rtol=1e-10, atol=1e-12, err_msg=name)
