"""What a notebook shows: a History's curves, and the live plot fit redraws every epoch."""

import sys
import types

import numpy as np
import pytest

import backprop as bp

PNG = b"\x89PNG\r\n\x1a\n"


def small_run(epochs=3, callbacks=()):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 4)).astype(np.float32), rng.integers(0, 2, 40)
    model = bp.Sequential(bp.Linear(4, 8, rng=0), bp.ReLU(), bp.Linear(8, 2, rng=1))
    return bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1), x[:30], y[:30], epochs=epochs,
                  batch_size=10, progress=False, validation_data=(x[30:], y[30:]), callbacks=callbacks)


def test_a_history_shows_its_curves_as_a_png():
    assert bp.History()._repr_png_() is None  # nothing to draw yet: the dict is shown
    png = small_run()._repr_png_()
    assert png.startswith(PNG) and len(png) > 5_000


class FakeDisplay:
    """IPython.display's ``display`` and ``Image`` as a notebook would receive them."""

    def __init__(self):
        self.shown, self.updates = [], []

    def Image(self, data, format):  # noqa: N802 - IPython's name
        assert format == "png" and data.startswith(PNG)
        return ("image", len(data))

    def display(self, obj, display_id):
        assert display_id is True
        self.shown.append(obj)
        fake = self

        class Handle:
            def update(self, obj):
                fake.updates.append(obj)

        return Handle()


@pytest.mark.parametrize(("every", "epochs", "updates"), [(1, 4, 3), (2, 5, 2)])
def test_the_live_plot_draws_once_then_updates_the_same_display(monkeypatch, every, epochs, updates):
    fake = FakeDisplay()
    ipython = types.ModuleType("IPython")
    ipython.display = fake
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", fake)
    small_run(epochs, callbacks=[bp.LivePlot(every=every)])
    assert len(fake.shown) == 1  # one display in the cell ...
    assert len(fake.updates) == updates  # ... redrawn in place (every 2: epochs 2, 4, then the last, 5)


def test_the_live_plot_says_what_it_needs_without_ipython(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)
    with pytest.raises(ImportError, match="LivePlot draws in a Jupyter notebook and needs IPython"):
        small_run(1, callbacks=[bp.LivePlot()])
    with pytest.raises(ValueError, match="LivePlot: every must be a positive integer, got 0"):
        bp.LivePlot(every=0)
