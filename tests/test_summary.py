"""model.summary() and a Sequential's notebook display: shapes, parameters, dtype, layout, bytes."""

import numpy as np
import pytest

import backprop as bp
from backprop import architectures


def test_the_summary_runs_a_sample_through_a_copy_and_lists_every_layer():
    model = architectures.build("cnn", (1, 28, 28), 10, rng=0)
    before = {name: p.copy() for name, p in model.params.items()}
    summary = model.summary(input_shape=(1, 28, 28))
    shapes = [row.output_shape for row in summary.rows]
    assert shapes == [(32, 28, 28), (32, 28, 28), (32, 14, 14), (64, 14, 14), (64, 14, 14), (64, 7, 7),
                      (3136,), (128,), (128,), (10,)]
    assert [row.parameters for row in summary.rows] == [320, 0, 0, 18_496, 0, 0, 0, 401_536, 0, 1_290]
    assert summary.parameters == 421_642 == sum(p.size for p in model.params.values())
    assert summary.parameter_bytes == 4 * 421_642
    assert [row.layout for row in summary.rows][:6] == ["channels-last"] * 6 and summary.rows[7].layout == ""
    text = str(summary)
    assert text.splitlines()[1].split() == ["#", "layer", "output", "shape", "parameters", "dtype", "layout"]
    assert "421,642 parameters, 1.7 MB; input (1, 28, 28) per sample" in text
    assert repr(summary) == text  # what a terminal shows for model.summary(...)
    for name, p in model.params.items():
        np.testing.assert_array_equal(p, before[name])  # the model itself never ran
    assert model.last_input_shape is None


def test_running_statistics_and_mode_are_left_alone():
    model = architectures.build("resnet", (1, 28, 28), 10, rng=0)
    running = {name: b.copy() for name, b in model.buffers.items()}
    summary = model.summary((1, 28, 28))
    assert model.training
    for name, b in model.buffers.items():
        np.testing.assert_array_equal(b, running[name])
    assert summary.rows[7].layer == "Residual(5 layers, a projection shortcut)"
    assert summary.buffer_bytes == sum(b.nbytes for b in model.buffers.values()) > 0
    assert "buffers (running statistics) 4.5 kB" in str(summary)


def test_without_an_input_shape_the_shapes_are_those_of_the_last_batch():
    model = bp.Sequential(bp.Linear(4, 3, rng=0), bp.ReLU(), bp.Linear(3, 2, rng=1))
    assert [row.output_shape for row in model.summary().rows] == [None] * 3
    assert "-" in str(model.summary())
    model(np.zeros((5, 4), np.float32))
    assert model.last_input_shape == (4,)
    assert [row.output_shape for row in model.summary().rows] == [(3,), (3,), (2,)]


def test_a_notebook_shows_a_sequential_as_its_summary_table():
    model = bp.Sequential(bp.Linear(4, 3, dtype=np.float64, rng=0), bp.Sigmoid(), bp.Linear(3, 2, rng=1,
                                                                                         dtype=np.float64))
    model(np.zeros((1, 4)))
    page = model._repr_html_()
    assert page.count("<tr>") == 4  # the header and three layers
    assert "<td>Linear(4 -&gt; 3)</td><td>(3,)</td><td>15</td><td>float64</td>" in page
    assert "23 parameters, 184 bytes" in page
    assert repr(model).startswith("Sequential(\n  (0): ")  # the text repr is kept


def test_an_input_shape_that_does_not_fit_names_the_layer():
    model = architectures.build("cnn", (1, 28, 28), 10, rng=0)
    with pytest.raises(ValueError, match=r"summary: input shape \(3, 28, 28\) does not fit layer 0, Conv2d\(1 -> 32"):
        model.summary(input_shape=(3, 28, 28))
