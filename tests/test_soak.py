"""Under load: 200 epochs with validation and a checkpoint every epoch hold their memory steady.

The run happens in a fresh process (the test suite's own allocations stay out of it); a
callback reads the resident set size from /proc after every epoch.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import json, sys
import numpy as np
import backprop as bp
from backprop import architectures

def resident_bytes():
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * 4096

x, y = bp.datasets.load_digits(flatten=True)
(xt, yt), (xv, yv) = bp.datasets.train_test_split(x, y, test_fraction=0.2, seed=0)
model = architectures.build("mlp", (64,), 10, rng=0)
optimizer = bp.SGD(model, 0.05, momentum=0.9, weight_decay=5e-4)
rss = {}
history = bp.fit(model, bp.SoftmaxCrossEntropy(), optimizer, xt, yt, epochs=200, batch_size=64,
                 validation_data=(xv, yv), progress=False, schedule=bp.CosineLR(optimizer, 200),
                 checkpoint=sys.argv[1], callbacks=[lambda state: rss.__setitem__(state.epoch, resident_bytes())])
print(json.dumps({"rss": rss, "epochs": history.epochs_run, "val_accuracy": history["val_accuracy"][-1]}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc to read the resident set size")
def test_200_epochs_with_validation_and_checkpoints_keep_memory_flat(tmp_path):
    # One BLAS thread: on a loaded machine a spinning two-thread pool makes this run 100x slower.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "checkpoint.safetensors")],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    rss = {int(epoch): value for epoch, value in result["rss"].items()}
    assert result["epochs"] == 200 and result["val_accuracy"] > 0.95
    growth = rss[200] / rss[10] - 1
    print(f"resident set: epoch 10 {rss[10] / 2**20:.1f} MiB, epoch 200 {rss[200] / 2**20:.1f} MiB ({growth:+.2%})")
    assert abs(growth) < 0.05
