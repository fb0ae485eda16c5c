"""The lab's session: a Playground problem trained a step at a time with the library's components."""

import numpy as np
import pytest

from backprop.lab import FEATURES, LabConfig, LabSession, features_of


def test_the_same_seed_replays_the_run_step_for_step():
    config = LabConfig(problem="xor", noise=0.1, hidden=(8, 8), seed=3)
    first, second = LabSession(config), LabSession(config)
    assert first.losses() == second.losses()
    first.step(25)
    second.step(25)
    assert first.losses() == second.losses() and first.steps == 25
    first.reset()
    assert first.steps == 0 and first.losses() == LabSession(config).losses()


@pytest.mark.parametrize(
    ("problem", "outputs", "loss"),
    [("circle", 1, "SigmoidBinaryCrossEntropy"), ("spiral3", 3, "SoftmaxCrossEntropy"), ("plane", 1, "MSELoss")],
)
def test_the_output_and_loss_follow_the_task(problem, outputs, loss):
    session = LabSession(LabConfig(problem=problem))
    assert session.model.layers[-1].out_features == outputs and type(session.loss).__name__ == loss


def test_training_lowers_the_loss_and_moves_the_boundary():
    session = LabSession(LabConfig(problem="circle", hidden=(8, 4), optimizer="adam", lr=0.03, batch_size=10))
    before, boundary = session.losses(), session.boundary(32)
    session.step(400)
    after = session.losses()
    assert after["train"] < 0.5 * before["train"] and after["test"] < 0.5 * before["test"]
    assert session.epochs == 16  # 250 train points, 25 steps an epoch: 16 passes done
    moved = session.boundary(32)
    assert moved.shape == (32, 32) and np.all((moved >= 0) & (moved <= 1))
    assert np.abs(moved - boundary).max() > 0.3
    # the circle's inside (the middle of the picture) is class 1, its corners class 0
    assert moved[16, 16] > 0.8 and moved[0, 0] < 0.2
    assert len(session.gradient_norms) == 400 and len(session.gradient_norms[0]) == 3


def test_every_unit_has_a_picture():
    session = LabSession(LabConfig(features=("x1", "x2", "x1*x2"), hidden=(4, 3), activation="relu"))
    grids = session.neuron_grids(8)
    assert sorted(grids) == ["0:0", "0:1", "0:2", "1:0", "1:1", "1:2", "1:3", "2:0", "2:1", "2:2", "3:0"]
    np.testing.assert_allclose(grids["3:0"], session.boundary(8), rtol=1e-6)  # the output: P(class 1)
    assert all(g.shape == (8, 8) for g in grids.values())
    assert all(np.all(grids[f"1:{i}"] >= 0) for i in range(4))  # after the ReLU
    np.testing.assert_allclose(grids["0:2"], grids["0:0"] * grids["0:1"], rtol=1e-6)


def test_features_are_the_named_columns():
    points = np.array([[1.0, 2.0], [-0.5, 3.0]])
    columns = features_of(points, FEATURES)
    np.testing.assert_allclose(columns[1], [-0.5, 3.0, 0.25, 9.0, -1.5, np.sin(-0.5), np.sin(3.0)])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"problem": "moons"}, "problem must be one of circle, xor"),
        ({"hidden": (4, 17)}, "hidden must be an integer from 1 to 16, got 17"),
        ({"hidden": (1,) * 7}, "hidden has at most 6 layers, got 7"),
        ({"features": ("x1", "x1")}, "features must be distinct names"),
        ({"activation": "gelu"}, "activation must be one of relu, tanh, sigmoid, leakyrelu, linear, got 'gelu'"),
        ({"lr": 0}, "lr must be a number from 1e-06 to 10, got 0"),
        ({"n": 5000}, "n must be an integer from 10 to 2000, got 5000"),
    ],
)
def test_every_setting_is_checked(settings, message):
    with pytest.raises(ValueError, match=f"lab: {message}"):
        LabConfig(**settings)


def test_the_output_units_of_several_classes_are_their_probabilities():
    session = LabSession(LabConfig(problem="spiral3", hidden=(5,)))
    session.step(20)
    grids = session.neuron_grids(6)
    probabilities = np.stack([grids[f"2:{k}"] for k in range(3)])
    np.testing.assert_allclose(probabilities.sum(axis=0), 1, rtol=1e-6)
    np.testing.assert_array_equal(probabilities.argmax(axis=0), session.boundary(6))


def test_tune_changes_the_learning_rate_l2_and_batch_size_and_keeps_the_run():
    session = LabSession(LabConfig(problem="xor", hidden=(4,), lr=0.1, batch_size=10))
    session.step(5)
    weights = {name: array.copy() for name, array in session.model.params.items()}
    session.tune(lr=0.5, batch_size=20, l2=0.0)
    assert session.steps == 5 and all(np.array_equal(weights[n], a) for n, a in session.model.params.items())
    session.step(1)
    last = session.last_step
    assert len(last.batch) == 20 and last.lr == 0.5
    # plain SGD: the step moved each weight by the new eta times its gradient
    x, t = session.train_features()[last.batch], session.loss_targets(session.train_targets[last.batch])
    for name, array in session.model.params.items():
        np.copyto(array, last.before[name])
    session.loss(session.model(x), t)
    session.model.backward(session.loss.backward(), input_grad=False)
    for name, grad in session.model.grads.items():
        np.testing.assert_allclose(last.after[name], last.before[name] - 0.5 * grad, rtol=1e-5, atol=1e-7)


def test_tune_refuses_what_needs_a_new_run_and_values_out_of_range():
    session = LabSession(LabConfig())
    with pytest.raises(ValueError, match="'activation' cannot change during a run; lr, l2, batch_size can"):
        session.tune(activation="relu")
    with pytest.raises(ValueError, match="lab: lr must be a number from 1e-06 to 10, got 50"):
        session.tune(lr=50)
    assert session.config.lr == LabConfig().lr and session.optimizer.lr == LabConfig().lr


def test_the_epoch_counter_counts_finished_passes():
    session = LabSession(LabConfig(n=100, train_fraction=0.5, batch_size=20))  # 50 points: 3 steps a pass
    counts = []
    for _ in range(7):
        session.step(1)
        counts.append(session.epochs)
    assert counts == [0, 0, 1, 1, 1, 2, 2]  # the last batch of a pass holds the 10 left over
