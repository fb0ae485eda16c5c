import numpy as np
import pytest

import backprop as bp


def blobs(n=300, seed=0, dtype=np.float32):
    """Three well-separated Gaussian clusters in 2-D, labels 0..2."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return (centres[labels] + rng.standard_normal((n, 2)) * 0.7).astype(dtype), labels


def classifier(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return bp.Sequential(bp.Linear(2, 16, dtype=dtype, rng=rng), bp.ReLU(), bp.Linear(16, 3, dtype=dtype, rng=rng))


def train(seed=0, **kwargs):
    x, y = blobs()
    model = classifier()
    options = {"epochs": 5, "batch_size": 32, "seed": seed, "progress": False}
    options.update(kwargs)
    history = bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1), x, y, **options)
    return model, history


def test_fit_learns_and_records_history():
    x, y = blobs()
    xv, yv = blobs(seed=1)
    model = classifier()
    history = bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1, momentum=0.9), x, y,
                     epochs=8, batch_size=32, validation_data=(xv, yv), progress=False)
    assert all(len(history[key]) == 8 for key in ("loss", "val_loss", "accuracy", "val_accuracy"))
    assert history["loss"][-1] < history["loss"][0] / 3
    assert history["val_accuracy"][-1] > 0.95
    assert history.epochs_run == 8 and history.stop_reason is None
    result = bp.evaluate(model, bp.SoftmaxCrossEntropy(), xv, yv, batch_size=64)
    assert result["accuracy"] == pytest.approx(history["val_accuracy"][-1])
    assert result["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-6)


def test_same_seed_gives_bit_identical_weights_and_another_seed_does_not():
    a, _ = train(seed=3)
    b, _ = train(seed=3)
    c, _ = train(seed=4)
    for name, value in a.params.items():
        np.testing.assert_array_equal(value, b.params[name])
    assert any(not np.array_equal(value, c.params[name]) for name, value in a.params.items())


def test_full_batch_is_plain_gradient_descent():
    """batch_size=None: one step per epoch on the whole set, equal to a hand-written GD step."""
    x, y = blobs(60)
    model, reference = classifier(), classifier()
    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.5), x, y, epochs=1, batch_size=None, progress=False)
    loss = bp.SoftmaxCrossEntropy()
    loss(reference(x), y)
    reference.backward(loss.backward())
    for name, value in reference.params.items():
        np.testing.assert_allclose(model.params[name], value - 0.5 * reference.grads[name], rtol=1e-6)


def test_mini_batches_see_every_sample_once_per_epoch():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    seen = []

    class Recorder(bp.Layer):
        def forward(self, x):
            seen.extend(x[:, 0].tolist())
            return x

        def backward(self, gy):
            return gy

    model = bp.Sequential(Recorder(), bp.Linear(1, 2))
    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.01), x, np.zeros(10, int),
           epochs=2, batch_size=3, progress=False)
    # The data check runs one sample through the model before the first step.
    checked, first, second = seen[:1], seen[1:11], seen[11:]
    assert checked == [0.0]
    assert sorted(first) == list(range(10)) and sorted(second) == list(range(10))
    assert first != second


def test_early_stopping_restores_the_best_weights():
    x, y = blobs()
    xv, yv = blobs(seed=1)
    model = classifier()
    snapshots = {}

    def remember(state):
        snapshots[state.epoch] = model.state_dict()

    history = bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 2.0, momentum=0.9), x, y, epochs=40,
                     batch_size=16, validation_data=(xv, yv), patience=2, callbacks=[remember], progress=False)
    assert history.stop_reason.startswith("early stopping")
    assert history.epochs_run < 40
    best = history.best_epoch
    assert history["val_loss"][best - 1] == min(history["val_loss"])
    for name, value in model.params.items():
        np.testing.assert_array_equal(value, snapshots[best][name])


def test_callback_can_stop_and_sees_logs():
    seen = []

    def stop_at_two(state):
        seen.append((state.epoch, sorted(state.logs)))
        return state.epoch == 2

    _, history = train(epochs=10, callbacks=[stop_at_two])
    assert history.epochs_run == 2 and "callback" in history.stop_reason
    assert seen == [(1, ["accuracy", "loss"]), (2, ["accuracy", "loss"])]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_stops_at_once_and_keeps_finite_weights():
    x, y = blobs()
    x = x * 1e18
    model = classifier()
    with pytest.raises(bp.DivergenceError, match=r"loss became (nan|inf) at epoch 1, step \d+.*lower learning rate"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 1e10), x, y, epochs=3, batch_size=32, progress=False)
    assert all(np.isfinite(value).all() for value in model.params.values())


def test_progress_prints_one_summary_line_per_epoch():
    lines = []
    train(epochs=3, progress=True, log=lines.append)
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3  loss ") and "accuracy" in lines[0] and "samples/s" in lines[0]


def test_predict_gives_probabilities_for_a_softmax_classifier():
    model, _ = train()
    x, _ = blobs(10)
    probabilities = bp.predict(model, x, batch_size=3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    logits = bp.predict(model, x, probabilities=False)
    np.testing.assert_array_equal(probabilities.argmax(1), logits.argmax(1))
    np.testing.assert_allclose(logits, model(x), rtol=1e-6)


def test_regression_has_no_accuracy_and_converges():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (200, 1))
    t = 3 * x - 0.5
    model = bp.Sequential(bp.Linear(1, 1, dtype=np.float64, rng=0))
    history = bp.fit(model, bp.MSELoss(), bp.SGD(model, 0.5), x, t, epochs=100, batch_size=None, progress=False)
    assert history["accuracy"] == []
    np.testing.assert_allclose(model[0].weight, [[3.0]], atol=1e-3)
    np.testing.assert_allclose(model[0].bias, [-0.5], atol=1e-3)
    assert set(bp.evaluate(model, bp.MSELoss(), x, t)) == {"loss"}


def test_data_is_converted_to_the_model_dtype():
    x, y = blobs(dtype=np.float64)
    model = classifier(dtype=np.float32)
    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1), x, y, epochs=1, progress=False)
    assert model[0].weight.dtype == np.float32


def test_eval_mode_during_evaluation_and_train_mode_after():
    model = bp.Sequential(bp.Linear(2, 3, rng=0), bp.Dropout(0.5, rng=0))
    x, y = blobs(20)
    bp.evaluate(model, bp.SoftmaxCrossEntropy(), x, y)
    assert model.training and model[1].training
    np.testing.assert_array_equal(bp.predict(model, x, probabilities=False), model[0](x))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "fit: batch_size must be a positive integer or None, got 0"),
        ({"epochs": -1}, "fit: epochs must be a non-negative integer, got -1"),
        ({"patience": 0}, "fit: patience must be a positive integer or None, got 0"),
        ({"validation_data": (np.zeros((2, 2)),)}, r"validation_data must be a pair"),
    ],
)
def test_bad_arguments(kwargs, message):
    x, y = blobs(20)
    model = classifier()
    with pytest.raises(ValueError, match=message):
        bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1), x, y, progress=False, **kwargs)


def test_mismatched_lengths():
    model = classifier()
    with pytest.raises(ValueError, match=r"same number of samples, got \(5, 2\) and \(4,\)"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1), np.zeros((5, 2)), np.zeros(4, int))


def test_output_transform_follows_the_loss_of_the_last_fit():
    model, _ = train()
    assert model.output_transform == "softmax"
    x, y = blobs(30)
    bp.fit(model, bp.MSELoss(), bp.SGD(model, 0.01), x, np.eye(3, dtype=np.float32)[y], epochs=1, progress=False)
    assert model.output_transform is None
    np.testing.assert_array_equal(bp.predict(model, x), bp.predict(model, x, probabilities=False))


def test_a_callback_object_gets_every_hook_in_order_and_can_stop_the_run():
    from backprop.callbacks import Callback

    class Recorder(Callback):
        def __init__(self):
            self.calls = []

        def on_fit_begin(self, state):
            self.calls.append("fit_begin")

        def on_epoch_begin(self, state):
            self.calls.append(f"epoch_begin {state.epoch}")

        def on_step_end(self, state):
            self.calls.append(f"step {state.step}")

        def on_epoch_end(self, state):
            self.calls.append(f"epoch_end {state.epoch} {sorted(state.logs)}")
            if state.epoch == 2:
                state.history.stop_reason = "enough"

        def on_fit_end(self, state):
            self.calls.append(f"fit_end {state.completed}")

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 3)).astype(np.float32), rng.integers(0, 2, 20)
    model = bp.Sequential(bp.Linear(3, 2, rng=0))
    recorder = Recorder()
    history = bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1), x, y, epochs=5, batch_size=10,
                     progress=False, callbacks=[recorder])
    assert recorder.calls == [
        "fit_begin",
        "epoch_begin 0", "step 1", "step 2", "epoch_end 1 ['accuracy', 'loss']",
        "epoch_begin 1", "step 3", "step 4", "epoch_end 2 ['accuracy', 'loss']",
        "fit_end True",
    ]
    assert history.epochs_run == 2 and history.stop_reason == "enough"
