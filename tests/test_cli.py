"""The command line, run as a user runs it: a real subprocess."""

import subprocess
import sys


def backprop(*args):
    return subprocess.run([sys.executable, "-m", "backprop", *args], capture_output=True, text=True, timeout=300)


def test_gradcheck_command_checks_every_component():
    result = backprop("gradcheck")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for component in ("Linear", "Conv2d", "MaxPool2d", "ReLU", "Sigmoid", "Tanh", "Softmax", "Dropout",
                      "SoftmaxCrossEntropy", "CrossEntropy", "BinaryCrossEntropy", "MSELoss", "Flatten"):
        assert component in out
    assert "FAIL" not in out
    assert "every analytic gradient matches finite differences" in out


def test_user_mistake_is_one_line_and_exit_2():
    result = backprop("no-such-command")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("backprop: error:")
    assert "Traceback" not in result.stderr
