"""``backprop bench``: it runs, counts FLOPs right, writes its JSON, works without torch and jax.

Nothing here compares a timing with a threshold: the figures depend on the machine and on
whatever else it runs. torch and jax are never needed (CI has neither).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import threading

import pytest
from conftest import cli_ok, cli_user_error

from backprop import bench

ROWS = (
    "W1 mlp", "W2 cnn", "W3 sigmoid-mlp, s / epoch", "W3 sigmoid-mlp, us / step", "W4 infer", "W5 lenet5",
    "W6 resnet", "W7 cnn infer", "W8 cnn one image",
)

# A finder that refuses torch and jax, as on a machine where they are not installed.
WITHOUT_TORCH_AND_JAX = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "jax", "jaxlib"):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Refuse())
import importlib.util
_find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in ("torch", "jax") else _find_spec(name, *a)
from backprop.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    result = cli_ok(
        "bench", "--quick", "--frameworks", "ours", "--workloads", "mlp,cnn,sigmoid-mlp,infer,lenet5,resnet,cnn-infer,cnn-latency,sweep",
        "--json", folder / "results.json", "--plot", folder / "sweep.png", timeout=300,
    )
    return result.stdout, folder


@pytest.mark.slow
def test_quick_run_prints_the_table_with_every_row(quick_run):
    stdout, _ = quick_run
    lines = stdout.splitlines()
    assert lines[0].split()[:5] == ["workload", "ours", "PyTorch", "PyTorch-NCHW", "JAX"]
    assert "ours/PyTorch" in lines[0] and "% peak" in lines[0] and "met?" in lines[0]
    for row in ROWS:
        line = next((line for line in lines if line.startswith(row)), None)
        assert line is not None, f"no row {row!r} in\n{stdout}"
        ours = line[len(row):].split()
        assert any(ch.isdigit() for ch in " ".join(ours)), line
    assert "GEMM peak:" in stdout and "GFLOP/s" in stdout
    assert "OPENBLAS_CORETYPE" in stdout and "one thread each" in stdout
    pinned = next(line for line in lines if line.startswith("pinned: every framework on core "))
    assert "threads of the process moved there" in pinned
    assert "core probe per round (1 spinning process(es) asked for 1 core(s)): saw " in stdout
    assert "sweep, W1 training samples/s by batch size" in stdout
    bound = next(line for line in lines if line.startswith("GEMM-only bound"))
    assert re.search(r"W1 [\d.e-]+ s \(ours [\d.]+x of it\); W3 [\d.e-]+ s \(ours [\d.]+x of it\)", bound), bound


@pytest.mark.slow
def test_quick_run_writes_parseable_json_with_every_raw_timing(quick_run):
    _, folder = quick_run
    content = json.loads((folder / "results.json").read_text())
    assert content["rounds"] == 1 and content["frameworks"] == ["ours"]
    for workload in bench.TIMED:
        (seconds,) = content["seconds"][workload]["ours"]
        (cpu,) = content["cpu_seconds"][workload]["ours"]
        assert seconds > 0 and 0 < cpu <= seconds * 1.05  # one pinned core: no more CPU than wall
    assert set(content["sweep"]["ours"]) == {str(b) for b in bench.QUICK.sweep_batches}
    assert content["peak_gflops"] > 0
    assert set(content["bound"]) == {"mlp", "sigmoid-mlp"} and all(s > 0 for (s,) in content["bound"].values())
    # The peak covers the squares and every product the workloads make.
    assert set(content["gemm"][0]["by_size"]) == {"256", "512"} | {
        f"{m} x {k} x {n}" for m, k, n in bench.GEMM_SHAPES
    }
    assert content["pinning"]["pinned"] is True and content["pinning"]["threads_moved"] >= 1
    (probe,) = content["probes"]
    assert probe["asked"] == 1 and 0 < probe["cores_seen"] <= 1.2 and isinstance(probe["short"], bool)
    env = content["environment"]
    assert env["cpu"] and env["numpy"] and env["blas_threads"] >= 1
    assert "OPENBLAS_CORETYPE" in env
    assert [row["workload"] for row in content["summary"]] == [
        "mlp", "cnn", "sigmoid-mlp", "sigmoid-mlp-step", "infer", "lenet5", "resnet", "cnn-infer", "cnn-latency"
    ]


@pytest.mark.slow
def test_quick_run_draws_the_sweep(quick_run):
    _, folder = quick_run
    assert (folder / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_flop_counts_match_hand_computed_numbers():
    # W1: 784*256 + 256*128 + 128*10 = 200,704 + 32,768 + 1,280
    assert bench.macs_per_sample("mlp") == 234_752
    assert bench.flops_per_sample("mlp", training=False) == 469_504
    # Training: 3 x the forward's MACs, less the first layer's input gradient (784 x 256), x 2.
    assert bench.flops_per_sample("mlp") == 2 * (3 * 234_752 - 200_704) == 1_007_104
    assert bench.macs_per_sample("infer") == bench.macs_per_sample("mlp")
    # W3: 784*100 + 100*10
    assert bench.macs_per_sample("sigmoid-mlp") == 79_400
    # W2: conv1 28*28 outputs x 32 channels x (1*3*3); conv2 14*14 x 64 x (32*3*3);
    # then 64*7*7 = 3,136 -> 128 -> 10.
    assert bench.conv2d_macs(1, 32, (3, 3), (28, 28)) == 225_792
    assert bench.conv2d_macs(32, 64, (3, 3), (14, 14)) == 3_612_672
    assert bench.cnn_macs() == 225_792 + 3_612_672 + 401_408 + 1_280 == 4_241_152
    assert bench.flops_per_sample("cnn") == 2 * (3 * 4_241_152 - 225_792)
    assert bench.flops_per_sample("sigmoid-mlp") == 2 * (3 * 79_400 - 78_400)
    # W5: conv1 28*28 x 6 x (1*5*5); conv2 10*10 x 16 x (6*5*5); 400 -> 120 -> 84 -> 10.
    assert bench.lenet5_macs() == 117_600 + 240_000 + 48_000 + 10_080 + 840 == 416_520
    assert bench.flops_per_sample("lenet5") == 2 * (3 * 416_520 - 117_600)
    # W6: the stem 28*28 x 16 x 9; stage 1 four 16->16 3x3 at 28x28; stages 2 and 3 a stride-2
    # 3x3, three 3x3 and a 1x1 projection at 14x14 and 7x7; 64 -> 10.
    stage1 = 4 * 784 * 16 * 16 * 9
    stage2 = 196 * 32 * (16 * 9 + 3 * 32 * 9 + 16)
    stage3 = 49 * 64 * (32 * 9 + 3 * 64 * 9 + 32)
    assert bench.resnet_macs() == 784 * 16 * 9 + stage1 + stage2 + stage3 + 640 == 20_183_936
    with pytest.raises(ValueError, match="unknown workload 'rnn'"):
        bench.macs_per_sample("rnn")


def test_w7_times_the_batch_predict_chooses_for_w2s_network():
    from backprop.batching import auto_batch_size
    from backprop.bench.ours import our_model

    spec = bench.spec_of("cnn-infer", bench.FULL)
    assert spec.batch_size == auto_batch_size(our_model("cnn").eval(), bench.make_data(spec.samples).x)


@pytest.mark.parametrize("workload", ["cnn", "lenet5", "resnet"])
def test_the_counted_macs_are_those_of_the_network_ours_trains(workload):
    """Count the products of the very model ``backprop bench`` times, layer by layer, on one image."""
    import numpy as np

    import backprop as bp
    from backprop.bench.ours import our_model

    model, counted = our_model(workload).eval(), []
    for layer in model.modules():
        if isinstance(layer, (bp.Conv2d, bp.Linear)):
            def forward(x, layer=layer, inner=layer.forward):
                y = inner(x)
                fan_in = layer.weight[0].size  # c_I h_K w_K, or in_features
                counted.append(fan_in * y[0].size)
                return y
            layer.forward = forward
    x = np.zeros((1, 1, 28, 28), np.float32)
    for layer in model.layers:  # one by one: Sequential.forward would run W2's fused Conv-ReLU-pool
        x = layer.forward(x)
    assert len(counted) == sum(isinstance(layer, (bp.Conv2d, bp.Linear)) for layer in model.modules())
    assert sum(counted) == bench.macs_per_sample(workload)


def _results(**seconds):
    """Results with made-up timings (one round) and a 100 GFLOP/s peak."""
    env = bench.environment()
    env["OPENBLAS_CORETYPE"] = None
    results = bench.Results(bench.FULL, 1, list(bench.WORKLOADS), list(bench.FRAMEWORKS), env)
    results.status = dict.fromkeys(bench.FRAMEWORKS, "ok")
    results.gemm = [{"gflops": 100.0, "by_size": {"2048": 100.0}}]
    for key, value in seconds.items():
        workload, framework = key.replace("torch_nchw", "torch-nchw").replace("jax_reshape", "jax-reshape").rsplit("_", 1)
        results.seconds.setdefault(workload.replace("_", "-"), {})[framework] = [value]
    return results


def test_summary_ratios_shares_and_targets():
    results = _results(mlp_ours=1.0, mlp_torch=2.5, mlp_jax=0.9, infer_ours=0.1, infer_torch=0.2,
                       cnn_ours=6.0, cnn_torch=8.0, cnn_torch_nchw=4.0, cnn_jax=4.0, cnn_jax_reshape=5.0,
                       sigmoid_mlp_ours=0.5, sigmoid_mlp_torch=0.8)
    rows = {row["workload"]: row for row in bench.summary(results)}
    mlp = rows["mlp"]
    assert mlp["ratios"]["torch"] == pytest.approx(0.4) and mlp["ratios"]["jax"] == pytest.approx(1 / 0.9)
    assert mlp["ratios"]["torch-nchw"] is None and mlp["ratios"]["jax-reshape"] is None  # W2's peers
    # 1,007,104 FLOPs x 60,000 samples in 1 s = 60.4 GFLOP/s of a 100 GFLOP/s peak
    assert mlp["peak_share"]["ours"] == pytest.approx(0.6042624)
    assert mlp["checks"] == {"PyTorch": True, "JAX": False}  # 0.4 <= 0.75, 1.11 > 0.95
    cnn = rows["cnn"]
    assert cnn["ratios"] == pytest.approx({"torch": 0.75, "torch-nchw": 1.5, "jax": 1.5, "jax-reshape": 1.2})
    assert cnn["checks"] == {"PyTorch": True, "JAX": False}  # 6 s against channels-last's 8 s, JAX's 4 s
    infer = rows["infer"]
    assert infer["values"]["ours"] == pytest.approx(100_000)  # 10,000 samples in 0.1 s
    # Ratios are of times: ours 0.1 s against PyTorch's 0.2 s is 0.5, under the 1.0 target.
    assert infer["ratios"]["torch"] == pytest.approx(0.5) and infer["checks"] == {"PyTorch": True}
    # W3 times the whole 60,000-sample epoch, 6,000 steps.
    sigmoid = rows["sigmoid-mlp"]
    assert sigmoid["values"]["ours"] == pytest.approx(0.5)
    assert sigmoid["checks"] == {"PyTorch": False, "JAX": None}
    assert rows["sigmoid-mlp-step"]["values"]["ours"] == pytest.approx(0.5 / 6000 * 1e6)
    lines = bench.format_report(results).splitlines()
    assert next(line for line in lines if line.startswith("W1 mlp")).endswith("no (JAX)")
    assert next(line for line in lines if line.startswith("W2 cnn")).endswith("no (JAX)")
    assert next(line for line in lines if line.startswith("W3 sigmoid-mlp, s")).endswith("no (PyTorch); JAX n/a")
    assert next(line for line in lines if line.startswith("W4 infer")).endswith("yes")
    assert not any("WARNING" in line for line in lines)
    assert not any("measurement error" in line for line in lines)
    assert any("OPENBLAS_CORETYPE unset" in line for line in lines)


def test_cpu_time_ratios_are_printed_beside_the_wall_time_ones():
    results = _results(mlp_ours=1.0, mlp_torch=2.0)
    results.cpu_seconds = {"mlp": {"ours": [0.5], "torch": [2.0]}}
    (row,) = bench.summary(results)
    assert row["cpu_ratios"]["torch"] == pytest.approx(0.25) and row["cpu_ratios"]["jax"] is None
    report = bench.format_report(results)
    assert "the same ratios by CPU time" in report and "  W1 mlp: ours/PyTorch 0.25" in report


def test_a_share_of_peak_above_100_percent_is_a_measurement_error():
    # 60.4 GFLOP/s against a peak measured at 40: the peak was measured low.
    results = _results(mlp_ours=1.0)
    results.gemm = [{"gflops": 40.0, "by_size": {"2048": 40.0}}]
    (row,) = bench.summary(results)
    assert row["peak_share"]["ours"] == pytest.approx(1.510656)  # kept raw in the JSON
    report = bench.format_report(results)
    mlp = next(line for line in report.splitlines() if line.startswith("W1 mlp"))
    assert "error (>100%)" in mlp and "151" not in mlp
    assert "ours error (>100%)" in report and "measurement error: a share above 100% cannot be real" in report
    assert bench.peak_share_text(0.412) == "41.2%" and bench.peak_share_text(None) == "-"


def test_rounds_short_of_cores_are_marked():
    results = _results(mlp_ours=1.0)
    results.probes = [
        {"asked": 2, "cores_seen": 1.98, "short": False},
        {"asked": 2, "cores_seen": 1.1, "short": True},
    ]
    report = bench.format_report(results)
    assert "asked for 2 core(s)): saw 1.98, 1.10 SHORT; round(s) 2 had fewer cores than asked" in report
    assert "unpinned: threads: ours" in report


def test_core_probe_counts_the_cores_its_processes_got():
    probe = bench.core_probe(1, seconds=0.1)
    assert probe["asked"] == 1 and 0 < probe["cores_seen"] <= 1.2
    with pytest.raises(ValueError, match="cores must be at least 1, got 0"):
        bench.core_probe(0)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="thread affinity is a Linux call")
def test_pinning_moves_every_thread_to_one_core_and_gives_the_affinity_back():
    before = os.sched_getaffinity(0)
    started = threading.Event()
    stop = threading.Event()

    def waiting() -> None:
        started.set()
        stop.wait()

    thread = threading.Thread(target=waiting)
    thread.start()
    started.wait()
    try:
        with bench.pinned_to_one_core() as record:
            assert record["pinned"] and record["threads_moved"] >= 2
            assert os.sched_getaffinity(thread.native_id) == {record["core"]} == os.sched_getaffinity(0)
        assert os.sched_getaffinity(0) == before == os.sched_getaffinity(thread.native_id)
    finally:
        stop.set()
        thread.join()
    with pytest.raises(ValueError, match="core 4096 is not one this process may use"), bench.pinned_to_one_core(4096):
        pass


def test_gemm_peak_measures_squares_and_the_given_shapes():
    peak = bench.gemm_peak((64,), 1, ((10, 20, 30),))
    assert set(peak["by_size"]) == {"64", "10 x 20 x 30"}
    assert peak["gflops"] == max(peak["by_size"].values()) > 0


def test_report_warns_when_openblas_coretype_is_set():
    results = _results(mlp_ours=1.0)
    results.environment["OPENBLAS_CORETYPE"] = "Haswell"
    report = bench.format_report(results)
    assert report.startswith("WARNING: OPENBLAS_CORETYPE=Haswell is set")
    assert "env -u OPENBLAS_CORETYPE" in report


def test_sweep_series_is_samples_per_second_with_gaps():
    results = _results()
    results.sweep = {"ours": {"1": [0.5, 1.0, 2.0], "1024": [1.0]}}
    (series,) = bench.sweep_series(results).values()
    assert series[0] == pytest.approx(bench.FULL.sweep_samples(1) / 1.0)
    assert series[-1] == pytest.approx(60_000 / 1.0)
    assert all(math.isnan(v) for v in series[1:-1])


@pytest.mark.slow
def test_memory_child_prints_one_json_line():
    result = subprocess.run(
        [sys.executable, "-m", "backprop.bench", "--memory", "ours", "--samples", "512"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    memory = json.loads(result.stdout.strip().splitlines()[-1])
    assert memory["data_mb"] == pytest.approx((512 * 784 * 4 + 512 * 8) / 1e6)
    assert memory["peak_mb"] >= memory["rss_with_data_mb"] > 0
    assert memory["over_data_mb"] == pytest.approx(memory["peak_mb"] - memory["rss_with_data_mb"])


@pytest.mark.slow
def test_without_torch_and_jax_their_columns_say_not_installed():
    result = cli_ok("bench", "--quick", "--workloads", "infer", code=WITHOUT_TORCH_AND_JAX, timeout=300)
    row = next(line for line in result.stdout.splitlines() if line.startswith("W4 infer"))
    assert row.count("not installed") == 2
    assert "PyTorch not installed, JAX not installed" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workloads", "mlp,rnn"], "unknown workload 'rnn'"),
        (["--frameworks", "tensorflow"], "unknown framework 'tensorflow'"),
        (["--rounds", "0"], "expected a positive integer"),
        (["--plot", "sweep.svg"], "must end in .png"),
        (["--workloads", "mlp", "--plot", "sweep.png"], "add sweep to --workloads"),
        (["--json", "no/such/dir/results.json"], "no such directory"),
        (["--threads", "1,1"], "thread counts must be distinct, got '1,1'"),
        (["--threads", "1,two"], "expected a positive integer, got 'two'"),
        (["--workloads", "sweep", "--threads", "1,2", "--plot", "sweep.png"], "give one --threads count"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(args, message):
    assert message in cli_user_error("bench", *args, timeout=300)


@pytest.mark.slow
def test_threads_runs_unpinned_with_a_core_probe_each_round():
    result = cli_ok("bench", "--quick", "--frameworks", "ours", "--workloads", "infer", "--threads", "2",
                    "--rounds", "2", timeout=300)
    assert "unpinned: threads: ours 2 (NumPy's BLAS, threadpoolctl)" in result.stdout
    probe = next(line for line in result.stdout.splitlines() if line.startswith("core probe per round"))
    assert probe.startswith("core probe per round (2 spinning process(es) asked for 2 core(s)): saw ")
    assert len(probe.split("saw ")[1].split(";")[0].split(", ")) == 2  # one probe per round
    assert result.stderr.count("probe saw") == 2


@pytest.mark.slow
def test_several_thread_counts_sweep_round_by_round_and_print_the_scaling(tmp_path):
    result = cli_ok("bench", "--quick", "--frameworks", "ours", "--workloads", "mlp,infer", "--threads", "1,2",
                    "--rounds", "2", "--json", tmp_path / "sweep.json", timeout=300)
    lines = result.stdout.splitlines()
    assert lines[0] == "threads sweep, unpinned, medians of 2 round(s), the counts interleaved:"
    assert lines[1].split() == ["workload", "framework", "1", "thr,", "s", "2", "thr,", "s", "x", "at", "2",
                                "ours/PyTorch", "at", "1", "ours/PyTorch", "at", "2"]
    for workload in ("mlp", "infer"):
        row = next(line for line in lines if line.startswith(workload)).split()
        one, two, speedup = float(row[2]), float(row[3]), float(row[4])
        assert one > 0 and two > 0 and speedup == pytest.approx(one / two, rel=0.02)
        assert row[5:] == ["-", "-"]  # no PyTorch in this run
    assert "core probe at 1 thread(s) (1 spinning process(es)): saw " in result.stdout
    # the counts alternate round by round: 1, 2, 1, 2
    starts = [line for line in result.stderr.splitlines() if "threads sweep: round" in line]
    assert [line.split()[-2] for line in starts] == ["1", "2", "1", "2"]
    content = json.loads((tmp_path / "sweep.json").read_text())
    assert set(content["threads"]) == {"1", "2"}
    assert all(len(runs) == 2 for runs in content["threads"].values())
    assert content["threads"]["2"][0]["environment"]["threads"] == 2


def test_the_gemm_bound_times_the_three_products_of_each_layer():
    from backprop.bench.bound import _products, gemm_bound

    shapes = [(a.shape, b.shape, out.shape) for a, b, out in _products((784, 256, 128, 10), 128)]
    assert shapes == [
        ((128, 784), (784, 256), (128, 256)),  # forward, layer by layer
        ((128, 256), (256, 128), (128, 128)),
        ((128, 128), (128, 10), (128, 10)),
        ((128, 10), (10, 128), (128, 128)),  # backward from the last layer: its input gradient g W,
        ((10, 128), (128, 128), (10, 128)),  # then its weight gradient g^T a
        ((128, 128), (128, 256), (128, 256)),
        ((128, 128), (128, 256), (128, 256)),
        ((256, 128), (128, 784), (256, 784)),  # the first layer: no input gradient
    ]
    assert gemm_bound("sigmoid-mlp", bench.QUICK) > 0
    with pytest.raises(ValueError, match="'cnn' has no GEMM-only bound"):
        gemm_bound("cnn", bench.QUICK)

