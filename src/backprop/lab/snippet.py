"""The Python that trains a lab's network with the library, for the page's "Python" export.

The snippet draws the same problem from the same seed, builds the same layers, loss and
optimiser, and trains with ``bp.fit`` for as many epochs as the lab has run (at least one). It
is plain public API (``bp.datasets.playground``, ``bp.Sequential``, ``bp.fit``), so a learner
can take it into a notebook and change it. ``bp.fit`` draws its own batches, so the weights
come out close to the lab's, not bit for bit the same.
"""

from __future__ import annotations

from .session import ACTIVATIONS, LabSession
from .upload import Upload

__all__ = ["python_snippet"]

_FEATURE_CODE = {
    "x1": "x1",
    "x2": "x2",
    "x1^2": "x1 * x1",
    "x2^2": "x2 * x2",
    "x1*x2": "x1 * x2",
    "sin(x1)": "np.sin(x1)",
    "sin(x2)": "np.sin(x2)",
}
_LAYER_NAMES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "leakyrelu": "LeakyReLU"}


def python_snippet(session: LabSession, upload: Upload | None = None) -> str:
    """A runnable script that trains the session's network on its problem (``upload``: the CSV's)."""
    c = session.config
    if upload is not None:
        data = (
            f"x, labels = bp.datasets.load_csv({upload.name!r}, target=-1, dtype=np.float64,"
            f" target_dtype=str, header={upload.header}, delimiter={upload.delimiter!r})\n"
            "# moved into the lab's plane as the lab moved them\n"
            f"x = ((x - np.array({list(upload.centre)!r})) * {upload.scale!r}).astype(np.float32)\n"
        )
        if upload.classes:
            data += (
                f"classes = {list(upload.classes)!r}\n"
                "y = np.array([classes.index(label) for label in labels])\n"
            )
        else:
            scale = upload.target_scale
            data += f"y = (labels.astype(np.float64) * {scale!r}).astype(np.float32).reshape(-1, 1)\n"
    else:
        data = f"x, y = bp.datasets.playground({c.problem!r}, n={c.n}, noise={c.noise!r}, seed={c.seed})\n"
    features = ", ".join(_FEATURE_CODE[name] for name in c.features)
    layers = []
    width = len(c.features)
    for units in c.hidden:
        layers.append(f"    bp.Linear({width}, {units}, rng=rng),")
        if ACTIVATIONS[c.activation] is not None:
            layers.append(f"    bp.{_LAYER_NAMES[c.activation]}(),")
        width = units
    outputs = session.outputs
    layers.append(f"    bp.Linear({width}, {outputs}, rng=rng),")
    loss = type(session.loss).__name__
    targets = "y"
    if loss == "SigmoidBinaryCrossEntropy":
        targets = "y.reshape(-1, 1).astype(np.float32)"
    if c.optimizer == "adam":
        optimizer = f"bp.Adam(model, lr={c.lr!r}, weight_decay={c.l2!r})"
    else:
        momentum = 0.9 if c.optimizer == "momentum" else 0.0
        optimizer = f"bp.SGD(model, lr={c.lr!r}, momentum={momentum}, weight_decay={c.l2!r})"
    epochs = max(1, session.epochs)
    names = ", ".join(c.features)
    return (
        f"# The backprop lab's network: {c.problem}, features {names},"
        f" hidden {list(c.hidden)}, {c.activation}, {c.optimizer}.\n"
        "import numpy as np\n\n"
        "import backprop as bp\n\n"
        f"{data}"
        "x1, x2 = x[:, 0], x[:, 1]\n"
        f"features = np.stack([{features}], axis=1).astype(np.float32)\n"
        f"split = round({c.train_fraction!r} * len(features))\n"
        f"rng = np.random.default_rng({c.seed})\n"
        "model = bp.Sequential(\n" + "\n".join(layers) + "\n)\n"
        f"loss = bp.{loss}()\n"
        f"optimizer = {optimizer}\n"
        f"targets = {targets}\n"
        f"history = bp.fit(model, loss, optimizer, features[:split], targets[:split], epochs={epochs},"
        f" batch_size={c.batch_size},\n"
        "                 validation_data=(features[split:], targets[split:]), seed=0, progress=False)\n"
        "print(f\"train loss {history['loss'][-1]:.4f}, test loss {history['val_loss'][-1]:.4f}\")\n"
        'bp.save(model, "lab-model.safetensors")\n'
    )
