"""bp.explain: one real training step, every number shown, checked against finite differences."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import backprop as bp
from backprop.explain import trace_step

F64 = np.float64


def seed_002_layer() -> bp.Linear:
    layer = bp.Linear(2, 3, dtype=F64)
    bp.init.constant(layer.weight, 0.5)
    bp.init.constant(layer.bias, 1.0)
    return layer


def sigmoid_network(rng: int = 0) -> bp.Sequential:
    rng = np.random.default_rng(rng)
    return bp.Sequential(
        bp.Linear(5, 4, dtype=F64, rng=rng), bp.Sigmoid(), bp.Linear(4, 3, dtype=F64, rng=rng), bp.Sigmoid(),
        bp.Linear(3, 3, dtype=F64, rng=rng),
    )


def batch(rng: int = 1, n: int = 4, features: int = 5, classes: int = 3):
    rng = np.random.default_rng(rng)
    return rng.standard_normal((n, features)), rng.integers(0, classes, n)


def test_seed_002_step_shows_the_seeds_numbers_and_applies_the_update():
    layer = seed_002_layer()
    text = bp.explain(layer, bp.SoftmaxCrossEntropy(), np.array([[8.0, 7.0]]), np.array([2]), lr=1.0, precision=8)
    assert "layer 0: Linear(2 -> 3)" in text and "z_1 = a_0 W_1^T + b_1" in text
    assert "a_0 = x   shape (1, 2)" in text and "W_1   shape (3, 2)" in text and "b_1   shape (3,)" in text
    assert "L = -(1/N) sum_n sum_j t_nj ln p_nj = 1.098612289" in text  # ln 3
    assert "delta_1 = dL/dz_1 = (p - t) / N" in text
    assert "[[ 0.33333333  0.33333333 -0.66666667]]" in text
    # our weight is (out, in): the seed's 2 x 3 numbers, transposed
    assert "[[-2.16666667 -1.83333333]\n     [-2.16666667 -1.83333333]\n     [ 5.83333333  5.16666667]]" in text
    assert "[0.66666667 0.66666667 1.66666667]" in text
    assert "The step was applied" in text
    np.testing.assert_allclose(
        layer.weight.T, [[-2.16666667, -2.16666667, 5.83333333], [-1.83333333, -1.83333333, 5.16666667]], atol=5e-9
    )
    np.testing.assert_allclose(layer.bias, [0.66666667, 0.66666667, 1.66666667], atol=5e-9)


def test_every_layer_and_shape_appears_with_the_hadamard_product_of_seed_000():
    x, t = batch()
    text = bp.explain(sigmoid_network(), bp.SoftmaxCrossEntropy(), x, t, lr=0.5)
    for index, component in enumerate(["Linear(5 -> 4)", "Sigmoid()", "Linear(4 -> 3)", "Sigmoid()", "Linear(3 -> 3)"]):
        assert f"layer {index}: {component}" in text
    for formula in ("z_1 = a_0 W_1^T + b_1", "a_1 = sigmoid(z_1)", "z_2 = a_1 W_2^T + b_2", "a_2 = sigmoid(z_2)",
                    "z_3 = a_2 W_3^T + b_3"):
        assert formula in text
    for shape in ("a_0 = x   shape (4, 5)", "W_1   shape (4, 5)", "z_1   shape (4, 4)", "W_3   shape (3, 3)",
                  "dL/dW_2 = delta_2^T a_1", "dL/db_3 = sum_n delta_3"):
        assert shape in text
    assert "delta_2 = (W_3^T delta_3) * sigmoid'(z_2)" in text
    assert "delta_1 = (W_2^T delta_2) * sigmoid'(z_1)" in text
    assert "sigmoid'(z_1) = a_1 (1 - a_1)   shape (4, 4)" in text
    prose = " ".join(text.split())  # paragraphs wrap at 100 columns
    assert prose.count("Equals Sigmoid.backward: yes") == 2
    assert "NO" not in re.findall(r"Equals [^:]*: (\w+)", prose)
    assert "they agree" in prose and "DISAGREE" not in prose
    assert max(map(len, text.splitlines())) <= 100


def test_the_three_factors_of_the_hadamard_product_multiply_to_what_backward_returned():
    x, t = batch()
    trace = trace_step(sigmoid_network(), bp.SoftmaxCrossEntropy(), x, t, lr=0.5)
    activation, weight = trace.records[1], trace.records[2]
    a = activation.y
    np.testing.assert_allclose(activation.derivative, a * (1 - a), rtol=1e-15)  # sigma' from the output
    # W^T delta, per row; with the weight of before the step (the layer now holds the updated one)
    np.testing.assert_allclose(activation.gy, weight.gy @ trace.before["W_2"], rtol=1e-15)
    np.testing.assert_allclose(activation.gx, activation.gy * activation.derivative, rtol=1e-15)


def random_step_model(kind: str):
    rng = np.random.default_rng(3)
    if kind == "relu-tanh":
        model = bp.Sequential(
            bp.Linear(5, 6, dtype=F64, rng=rng), bp.ReLU(), bp.Linear(6, 4, dtype=F64, rng=rng), bp.Tanh(),
            bp.Linear(4, 3, dtype=F64, rng=rng),
        )
        return model, bp.SoftmaxCrossEntropy(), *batch()
    if kind == "dropout":
        model = bp.Sequential(
            bp.Linear(5, 6, dtype=F64, rng=rng), bp.ReLU(), bp.Dropout(0.5, rng=7), bp.Linear(6, 3, dtype=F64, rng=rng)
        )
        return model, bp.SoftmaxCrossEntropy(), *batch()
    if kind == "cnn":
        model = bp.Sequential(
            bp.Conv2d(1, 2, 3, padding=1, dtype=F64, rng=rng), bp.ReLU(), bp.MaxPool2d(2), bp.Flatten(),
            bp.Linear(2 * 3 * 3, 3, dtype=F64, rng=rng),
        )
        return model, bp.SoftmaxCrossEntropy(), rng.standard_normal((2, 1, 6, 6)), np.array([0, 2])
    model = bp.Sequential(bp.Linear(5, 4, dtype=F64, rng=rng), bp.Sigmoid(), bp.Linear(4, 1, dtype=F64, rng=rng))
    return model, bp.MSELoss(), batch()[0], rng.standard_normal((4, 1))


@pytest.mark.parametrize("kind", ["relu-tanh", "dropout", "cnn", "mse"])
def test_finite_differences_agree_with_the_analytic_gradient_in_float64(kind):
    model, loss, x, t = random_step_model(kind)
    trace = trace_step(model, loss, x, t, lr=0.1)
    assert {p.symbol for p in trace.probes} == set(trace.before)
    for probe in trace.probes:
        assert probe.relative_error < 1e-6 or probe.absolute_error < 1e-9, probe


@pytest.mark.parametrize("kind", ["relu-tanh", "cnn", "mse"])
def test_the_update_is_w_minus_eta_times_the_gradient_and_apply_false_restores(kind):
    model, loss, x, t = random_step_model(kind)
    lr = 0.3
    before = {name: p.copy() for name, p in model.params.items()}
    loss(model(x), t)
    model.backward(loss.backward())
    grads = {name: g.copy() for name, g in model.grads.items()}

    bp.explain(model, loss, x, t, lr=lr, apply=False)
    for name, p in model.params.items():
        np.testing.assert_array_equal(p, before[name])

    bp.explain(model, loss, x, t, lr=lr)
    for name, p in model.params.items():
        np.testing.assert_allclose(p, before[name] - lr * grads[name], rtol=1e-14, atol=1e-16)


def test_squared_error_starts_from_seed_001s_delta():
    model, loss, x, t = random_step_model("mse")
    prose = " ".join(bp.explain(model, loss, x, t).split())
    assert "Delta = delta_2 = dL/dz_2 = -2 (t - O) / M" in prose
    assert "Equals MSELoss.backward(): yes" in prose
    prose = " ".join(bp.explain(model, bp.MSELoss("sum"), x, t).split())
    assert "Delta = delta_2 = dL/dz_2 = -2 (t - O), seed 001's" in prose


def test_unfused_softmax_and_cross_entropy_and_bias_free_layers():
    rng = np.random.default_rng(0)
    model = bp.Sequential(bp.Linear(5, 3, bias=False, dtype=F64, rng=rng), bp.Softmax())
    x, t = batch()
    text = bp.explain(model, bp.CrossEntropy(), x, t)
    prose = " ".join(text.split())
    assert "z_1 = a_0 W_1^T   " in text and "a_1 = softmax(z_1)" in text and "b_1" not in text
    assert "dL/da_1 = CrossEntropy.backward()" in prose
    assert "they agree" in prose


def test_markdown_has_headings_tables_and_fenced_arrays():
    x, t = batch()
    text = bp.explain(sigmoid_network(), bp.SoftmaxCrossEntropy(), x, t, format="markdown")
    assert text.startswith("# One training step")
    for heading in ("## 1. Forward pass", "## 2. Loss", "## 3. Backward pass", "### layer 1: Sigmoid()",
                    "## 4. Gradient check: finite differences", "## 5. Update"):
        assert f"\n{heading}\n" in text
    assert "| layer | component | computes | output shape |\n| --- | --- | --- | --- |" in text
    assert "| parameter | probe | analytic | finite difference | relative error |" in text
    assert "`delta_1 = (W_2^T delta_2) * sigmoid'(z_1)`" in text
    assert "`W_1`, shape `(4, 5)`:\n\n```\n[[" in text
    assert text.count("```") % 2 == 0


def test_large_arrays_are_elided_with_shape_norm_and_first_values():
    rng = np.random.default_rng(0)
    model = bp.Sequential(bp.Linear(64, 32, dtype=F64, rng=rng), bp.ReLU(), bp.Linear(32, 10, dtype=F64, rng=rng))
    x = rng.standard_normal((4, 64))
    weight = model[0].weight.copy()
    text = bp.explain(model, bp.SoftmaxCrossEntropy(), x, np.arange(4), apply=False)
    first = ", ".join(f"{v:.3g}" for v in weight.ravel()[:3])
    assert f"array of shape (32, 64), norm {np.linalg.norm(weight):.4g}, first values [{first}, ...]" in text
    assert re.search(r"\nW_1 +direction v_1 ", text) and not re.search(r"\nW_1 +\(0, 0\)", text)  # big: directions
    full = bp.explain(model, bp.SoftmaxCrossEntropy(), x, np.arange(4), max_elements=10_000)
    assert "array of shape" not in full


def test_float32_models_say_their_check_is_coarse():
    model = bp.Sequential(bp.Linear(5, 3, dtype=np.float32, rng=0))
    x, t = batch()
    text = bp.explain(model, bp.SoftmaxCrossEntropy(), x, t)  # x is converted to float32
    assert "float32: finite differences agree only to about 1e-3" in " ".join(text.split())


def test_mistakes_are_clear_errors():
    x, t = batch()
    with pytest.raises(ValueError, match="format must be 'text', 'markdown' or 'html', got 'latex'"):
        bp.explain(sigmoid_network(), bp.SoftmaxCrossEntropy(), x, t, format="latex")
    with pytest.raises(ValueError, match="max_elements must be a positive integer"):
        bp.explain(sigmoid_network(), bp.SoftmaxCrossEntropy(), x, t, max_elements=0)
    with pytest.raises(ValueError, match="has no parameters"):
        bp.explain(bp.Sequential(bp.ReLU()), bp.SoftmaxCrossEntropy(), x, t)


def test_the_loss_after_the_step_is_reported_and_lower():
    x, t = batch()
    trace = trace_step(sigmoid_network(), bp.SoftmaxCrossEntropy(), x, t, lr=0.5)
    assert trace.value_after < trace.value
    assert math.isfinite(trace.value_after)


def test_a_notebook_shows_the_step_as_html_with_typeset_formulas_and_shaded_arrays():
    x, t = batch()
    text = bp.explain(sigmoid_network(), bp.SoftmaxCrossEntropy(), x, t)
    assert isinstance(text, str) and text.startswith("One training step")  # still the text
    page = text._repr_html_()
    for part in ("1. Forward pass", "2. Loss", "3. Backward pass", "5. Update"):
        assert f"<details open><summary><h3>{part}" in page  # each part collapsible
    assert r"$\delta_{1} = (W_{2}^T \delta_{2}) \odot \operatorname{sigmoid}'(z_{1})$" in page
    assert r"$L = -(1/N) \sum_{n} \sum_{j} t_{nj} \ln p_{nj} = " in page
    # W_1 (4 x 5) as a table of 4 rows, each cell shaded by its value
    table = page.split(r"$W_{1}$, shape (4, 5)</p>")[1].split("</table>")[0]
    assert table.count("<tr>") == 4 and table.count("<td style=\"background: rgb(") == 20
    assert "<!DOCTYPE" not in page and "<!DOCTYPE html>" in text.html()


def test_format_html_is_the_standalone_page():
    x, t = batch()
    page = bp.explain(sigmoid_network(), bp.SoftmaxCrossEntropy(), x, t, format="html")
    assert page.startswith("<!DOCTYPE html>") and page == page.html()
    with pytest.raises(ValueError, match="format must be 'text', 'markdown' or 'html', got 'pdf'"):
        bp.explain(sigmoid_network(), bp.SoftmaxCrossEntropy(), x, t, format="pdf")


@pytest.mark.parametrize(
    ("formula", "tex"),
    [
        ("delta_2 = dL/dz_2 = (p - t) / N", r"\delta_{2} = \partial L/\partial z_{2} = (p - t) / N"),
        ("w <- w - eta dL/dw", r"w \leftarrow w - \eta \partial L/\partial w"),
        ("<dL/dw, v>", r"\langle \partial L/\partial w, v \rangle"),
        ("W_1 before", r"W_{1} \;\text{before}"),
        ("x_hat", r"\hat{x}"),
        ("dL/db_1 = sum_n delta_1", r"\partial L/\partial b_{1} = \sum_{n} \delta_{1}"),
    ],
)
def test_formulas_become_tex(formula, tex):
    from backprop.explain.html import to_tex

    assert to_tex(formula) == tex

