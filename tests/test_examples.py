"""The seeds' worked examples: their numbers, the command line, and the plain scripts in examples/."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import cli_ok, run_cli

import backprop as bp
from backprop.cli import main
from backprop.examples import EXAMPLES, digits, regression, sigmoid, softmax

ROOT = Path(__file__).resolve().parents[1]


def significant(values, digits: int = 8) -> list[str]:
    """Each value rounded to ``digits`` significant digits, as text: equal strings, equal digits."""
    return [f"{float(v):.{digits - 1}e}" for v in np.ravel(values)]


def assert_digits(actual, expected, digits: int = 8) -> None:
    assert significant(actual, digits) == significant(expected, digits)


# --- softmax (seed 002) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_002():
    return softmax.run(seed=0)


def test_seed_002_before_the_step(seed_002):
    run = seed_002["constant"]
    assert_digits(run["cross_entropy"], math.log(3))
    assert f"{run['cross_entropy']:.10f}" == "1.0986122887"
    assert_digits(run["seed_loss"], 1.9095425)  # the seed's summed binary cross-entropy
    assert run["seed_loss"] == pytest.approx(math.log(3) + 2 * math.log(1.5), rel=1e-14)
    assert_digits(run["probabilities"], [1 / 3] * 3)


def test_seed_002_after_one_step_in_the_seeds_layout(seed_002):
    run = seed_002["constant"]
    assert_digits(run["weight"], [[-2.16666667, -2.16666667, 5.83333333], [-1.83333333, -1.83333333, 5.16666667]])
    assert_digits(run["bias"], [0.66666667, 0.66666667, 1.66666667])
    assert_digits(run["prediction"], [3.09335001e-50, 3.09335001e-50, 1.0])
    assert_digits(run["seed_loss_after"], 2.99760217e-15)  # with p clipped to [1e-15, 1 - 1e-15]
    assert run["cross_entropy_after"] == 0.0 and str(run["cross_entropy_after"]) == "0.0"
    assert run["cross_entropy_after_exact"] == pytest.approx(math.log1p(2 * math.exp(-114)), rel=1e-12)
    assert_digits(run["weight_grad"], [[8 / 3, 8 / 3, -16 / 3], [7 / 3, 7 / 3, -14 / 3]])


def test_seed_002_second_run_random_weights_zero_biases(seed_002):
    run = seed_002["random"]
    assert np.all((run["weight_before"] >= 0) & (run["weight_before"] < 1))
    np.testing.assert_array_equal(run["bias_before"], 0.0)
    assert run["cross_entropy_after"] < run["cross_entropy"]
    assert run["seed_loss_after"] < run["seed_loss"]
    assert run["prediction"].argmax() == 2
    again = softmax.run(seed=0)["random"]
    for key in ("weight_before", "weight", "bias", "prediction"):
        np.testing.assert_array_equal(again[key], run[key])
    assert not np.array_equal(softmax.run(seed=1)["random"]["weight_before"], run["weight_before"])


def test_seed_002_report_prints_the_numbers_and_says_why_the_losses_differ(seed_002):
    text = softmax.report(seed_002)
    for number in ("1.0986122887", "1.9095425", "2.99760217e-15", "[[-2.16666667 -2.16666667  5.83333333]",
                   "[-1.83333333 -1.83333333  5.16666667]]", "[0.66666667 0.66666667 1.66666667]",
                   "[3.09335001e-50 3.09335001e-50 1.00000000e+00]"):
        assert number in text, number
    assert "ln 3 + 2 ln(3/2) = 1.9095425" in text and "clipped p into" in text


# --- regression (seed 003) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def polynomial(tmp_path_factory):
    return regression.run(seed=0, plot=tmp_path_factory.mktemp("plots") / "fit.png")


def test_gradient_descent_and_sgd_reach_the_least_squares_solution(polynomial):
    exact = polynomial["lstsq"]
    np.testing.assert_allclose(exact, regression.TRUE, atol=0.1)  # the data come from the true polynomial
    np.testing.assert_allclose(polynomial["gd"], exact, atol=1e-9)
    np.testing.assert_allclose(polynomial["sgd"], exact, atol=2e-3)
    assert polynomial["gd_loss"] == pytest.approx(polynomial["lstsq_loss"], rel=1e-12)
    assert polynomial["sgd_loss"] == pytest.approx(polynomial["lstsq_loss"], rel=1e-4)
    assert polynomial["gd_history"][-1] < polynomial["gd_history"][0] / 10
    assert len(polynomial["sgd_history"]) == polynomial["sgd_settings"]["epochs"]


def test_regression_draws_the_plot_and_reports_the_three_solutions(polynomial):
    assert polynomial["plot"].stat().st_size > 10_000
    text = regression.report(polynomial)
    assert "least squares (numpy lstsq)" in text and "gradient descent, 300 steps" in text
    assert f"{polynomial['lstsq'][0]:.8f}" in text and f"plot: {polynomial['plot']}" in text


# --- digits and cnn (seed 003) --------------------------------------------------------------


def test_digits_is_the_slides_bias_free_network_and_learns():
    model = digits.build_mlp()
    assert [type(layer).__name__ for layer in model] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert sorted(model.params) == ["0.weight", "2.weight", "4.weight"]  # W0, W1, W2 and no bias
    result = digits.run_digits(seed=0)
    assert result["test_accuracy"] > 0.93
    assert result["loss_history"][-1] < result["loss_history"][0] / 5
    assert "test: loss" in digits.report_digits(result)


def test_cnn_learns_the_digits():
    model = digits.build_cnn()
    assert [type(layer).__name__ for layer in model] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    result = digits.run_cnn(seed=0)
    assert result["test_accuracy"] > 0.9
    assert "convolution, ReLU, max-pool, linear, softmax" in digits.report_cnn(result)


# --- sigmoid (seeds 000, 001) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sigmoid_result():
    return sigmoid.run(seed=0)


def test_sigmoid_classifier_learns_the_digits(sigmoid_result):
    result = sigmoid_result["classification"]
    assert result["layers"] == 3 and result["model"].count("Sigmoid()") == 2
    assert result["test_accuracy"] > 0.9 > 5 * result["chance_accuracy"]


def test_sigmoid_regressor_beats_predicting_the_mean(sigmoid_result):
    result = sigmoid_result["regression"]
    assert result["model"].endswith("Linear(8 -> 1))")  # a linear output
    assert result["test_mse"] < 0.7 * result["baseline_mse"]
    assert 0.3 < result["r2"] < 1


def test_the_mean_divides_seed_001s_output_error_by_n(sigmoid_result):
    rule = sigmoid_result["regression"]["mean_rule"]
    np.testing.assert_allclose(rule["delta_sum"], -2 * (rule["targets"] - rule["outputs"]), rtol=1e-14)
    np.testing.assert_allclose(rule["delta_mean"], rule["delta_sum"] / rule["n"], rtol=1e-14)
    assert "MSELoss('mean').backward() = Delta/N" in sigmoid.report(sigmoid_result)


def test_the_report_states_how_learning_rates_map_to_mselosss_mean(sigmoid_result):
    text = sigmoid.report(sigmoid_result)
    assert "MSELoss('mean') averages over all N C outputs" in text
    assert "lr = alpha C" in text and "lr = eta C / 2" in text


def test_sigmoid_binary_classifier_beats_the_majority_class(sigmoid_result):
    result = sigmoid_result["binary"]
    assert result["model"].endswith("Linear(8 -> 1))") and result["model"].count("Sigmoid()") == 2
    assert (result["train_samples"], result["test_samples"]) == (455, 114)
    assert result["test_accuracy"] > 0.93 > result["majority_accuracy"] + 0.2
    assert result["loss_history"][-1] < result["loss_history"][0] / 5
    assert result["output_transform"] == "sigmoid"
    assert ((result["probabilities"] > 0) & (result["probabilities"] < 1)).all()


def test_the_fused_output_error_is_sigmoid_minus_t_over_n(sigmoid_result):
    rule = sigmoid_result["binary"]["output_rule"]
    z, t = rule["logits"].astype(np.float64), rule["targets"]
    np.testing.assert_allclose(rule["delta"], (1 / (1 + np.exp(-z)) - t) / rule["n"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(rule["by_hand"], rule["delta"], rtol=1e-6, atol=1e-9)
    assert rule["largest_difference"] < 1e-8
    text = sigmoid.report(sigmoid_result)
    assert "Binary classification, 3 layers:" in text
    assert "SigmoidBinaryCrossEntropy().backward()" in text and "(sigmoid(z) - t) / N" in text
    assert f"test accuracy {sigmoid_result['binary']['test_accuracy']:.4f}" in text


# --- explain setups -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_examples_explanation_checks_out_and_fits_a_terminal(name):
    setup = EXAMPLES[name].explain_setup(0)
    text = bp.explain(setup.model, setup.loss, setup.x, setup.t, lr=setup.lr, precision=setup.precision)
    prose = " ".join(text.split())
    assert "they agree" in prose and ": NO " not in prose
    assert max(map(len, text.splitlines())) <= 100
    if name in ("digits", "cnn", "sigmoid"):
        assert "The Hadamard product of seed 000" in prose


# --- the command line and the scripts --------------------------------------------------------


@pytest.mark.slow
def test_cli_runs_the_softmax_example():
    result = cli_ok("example", "softmax", timeout=120)
    assert "2.99760217e-15" in result.stdout and "[3.09335001e-50 3.09335001e-50 1.00000000e+00]" in result.stdout


@pytest.mark.slow
def test_cli_explains_a_step_of_the_sigmoid_network():
    result = cli_ok("example", "sigmoid", "--explain", timeout=120)
    assert "delta_2 = (W_3^T delta_3) * sigmoid'(z_2)" in result.stdout
    assert "Delta = delta_3 = dL/dz_3 = -2 (t - O) / M" in result.stdout


@pytest.mark.slow
def test_cli_writes_a_markdown_handout(tmp_path):
    out = tmp_path / "handouts" / "digits.md"
    result = cli_ok("example", "digits", "--explain", "--format", "markdown", "--out", out, timeout=120)
    assert result.stdout == f"wrote {out}\n"
    text = out.read_text()
    assert text.startswith("# One training step") and "### layer 3: ReLU()" in text
    assert [path.name for path in out.parent.iterdir()] == ["digits.md"]  # no temporary file left


@pytest.mark.slow
def test_cli_writes_a_standalone_html_page(tmp_path):
    out = tmp_path / "step.html"
    result = cli_ok("example", "digits", "--explain", "--format", "html", "--out", out, timeout=120)
    assert result.stdout == f"wrote {out}\n"
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "mathjax" in page and "<details open><summary><h3>1. Forward pass</h3></summary>" in page
    assert r"$\delta_{l} = \partial L/\partial z_{l}$" in page


@pytest.mark.slow
def test_cli_unknown_example_is_one_line_and_exit_2():
    result = run_cli("example", "mnist", timeout=120)
    assert result.returncode == 2
    assert result.stderr == (
        "backprop: error: unknown example 'mnist'; choose one of softmax, regression, digits, cnn, sigmoid\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["softmax", "--format", "markdown"], "--format applies to --explain"),
        (["softmax", "--plot", "x.png"], "--plot and --no-plot apply to running the regression example only"),
        (["regression", "--explain", "--no-plot"], "apply to running the regression example only"),
        (["regression", "--plot", "fit.pdf"], "give a name ending in .png"),
        (["softmax", "--explain", "--max-elements", "0"], "expected a positive integer"),
    ],
)
def test_cli_user_mistakes(args, message, capsys):
    assert main(["example", *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("backprop: error:") and message in captured.err
    assert captured.err.count("\n") == 1


def test_cli_lists_the_examples(capsys):
    assert main(["example"]) == 0
    listed = capsys.readouterr().out
    assert main(["example", "--list"]) == 0
    assert capsys.readouterr().out == listed
    for name in EXAMPLES:
        assert f"\n  {name} " in listed


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("softmax.py", "2.99760217e-15"),
        ("regression.py", "plot: runs/example-regression.png"),
        ("digits.py", "test: loss"),
        ("cnn.py", "test: loss"),
        ("sigmoid.py", "SigmoidBinaryCrossEntropy().backward()"),
    ],
)
def test_the_plain_scripts_run(script, expected, tmp_path):
    result = subprocess.run(
        [sys.executable, ROOT / "examples" / script], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    if script == "regression.py":
        assert (tmp_path / "runs" / "example-regression.png").stat().st_size > 0
