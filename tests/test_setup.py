"""``backprop.setup``: the loss, optimiser and schedule that ``backprop train``, the estimators and
the benchmark build from names and numbers, the very objects each used to build by hand."""

from __future__ import annotations

import numpy as np
import pytest

import backprop as bp
from backprop.setup import OPTIMIZERS, SCHEDULES, make_optimizer, make_schedule, training_setup


def model(seed=0):
    return bp.Sequential(bp.Linear(4, 8, rng=seed), bp.ReLU(), bp.Linear(8, 3, rng=seed + 1))


def test_the_names():
    assert dict(OPTIMIZERS) == {"sgd": bp.SGD, "adam": bp.Adam}
    assert SCHEDULES == ("cosine", "step", "none")


def test_sgd_and_adam_take_the_numbers_given():
    net = model()
    sgd = make_optimizer("sgd", net, 0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    assert type(sgd) is bp.SGD and (sgd.lr, sgd.momentum, sgd.nesterov, sgd.weight_decay) == (0.1, 0.9, True, 5e-4)
    plain = make_optimizer("sgd", net, 0.5)
    assert (plain.momentum, plain.nesterov, plain.weight_decay) == (0.0, False, 0.0)
    adam = make_optimizer("adam", net, 1e-3, momentum=0.9, weight_decay=1e-4)  # momentum is SGD's
    assert type(adam) is bp.Adam and (adam.lr, adam.weight_decay, adam.betas) == (1e-3, 1e-4, (0.9, 0.999))
    with pytest.raises(ValueError, match="make_optimizer: expected one of sgd, adam, got 'rmsprop'"):
        make_optimizer("rmsprop", net, 0.1)


@pytest.mark.parametrize(("epochs", "step"), [(60, 20), (2, 1), (7, 2)])
def test_the_schedules(epochs, step):
    optimizer = make_optimizer("sgd", model(), 0.1)
    cosine = make_schedule("cosine", optimizer, epochs)
    assert type(cosine) is bp.CosineLR and cosine.t_max == epochs
    stepped = make_schedule("step", optimizer, epochs)
    assert type(stepped) is bp.StepLR and stepped.step_size == step and stepped.gamma == 0.1
    assert make_schedule("none", optimizer, epochs) is None
    with pytest.raises(ValueError, match="make_schedule: expected one of cosine, step, none, got 'linear'"):
        make_schedule("linear", optimizer, epochs)


@pytest.mark.parametrize(
    ("task", "outputs", "loss"),
    [("classification", 10, bp.SoftmaxCrossEntropy), ("classification", 1, bp.SigmoidBinaryCrossEntropy),
     ("regression", 1, bp.MSELoss)],
)
def test_the_loss_follows_the_task(task, outputs, loss):
    made = training_setup(model(), task, outputs, lr=0.1)
    assert type(made.loss) is loss and made.schedule is None and type(made.optimizer) is bp.SGD


@pytest.mark.parametrize(("optimizer", "schedule"), [("sgd", "cosine"), ("adam", "step"), ("sgd", "none")])
def test_the_same_set_up_trains_the_same_weights_as_one_built_by_hand(optimizer, schedule):
    x = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    y = np.arange(40) % 3
    by_hand, built = model(), model()
    if optimizer == "sgd":
        hand = bp.SGD(by_hand, 0.05, momentum=0.9, weight_decay=5e-4)
    else:
        hand = bp.Adam(by_hand, 0.05, weight_decay=5e-4)
    hand_schedule = {"cosine": lambda: bp.CosineLR(hand, 4), "step": lambda: bp.StepLR(hand, 1),
                     "none": lambda: None}[schedule]()
    made = training_setup(built, "classification", 3, optimizer=optimizer, lr=0.05, momentum=0.9,
                          weight_decay=5e-4, schedule=schedule, epochs=4)
    for net, loss, opt, sched in ((by_hand, bp.SoftmaxCrossEntropy(), hand, hand_schedule),
                                  (built, made.loss, made.optimizer, made.schedule)):
        bp.fit(net, loss, opt, x, y, epochs=4, batch_size=8, seed=0, schedule=sched, progress=False)
    for name, value in by_hand.params.items():
        np.testing.assert_array_equal(built.params[name], value)
