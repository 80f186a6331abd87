"""benchmarks/peers.py keeps every finished search: a rerun with the same settings measures
only the searches not finished yet, and refuses an --out measured with other settings; each
search runs in a process of its own and hands its outcome back whole, a failed one stops the
benchmark with one line and keeps what finished (the searches themselves are replaced by
stand-ins here; the benchmark trains for minutes); and every kerashp search's options are
options `kerashp.run` accepts."""

import dataclasses
import importlib.util
import json
import logging
import subprocess
import sys
import types

import pytest

from conftest import ROOT


def load_peers(monkeypatch):
    spec = importlib.util.spec_from_file_location("peers_benchmark", ROOT / "benchmarks" / "peers.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def kerashp_log_level():
    """main() quietens kerashp's logger for the benchmark; the other tests get it back as it was."""
    logger = logging.getLogger("kerashp")
    level = logger.level
    yield
    logger.setLevel(level)


def run_children_here(peers, monkeypatch, returncode=0):
    """`subprocess.run` of a search's own process, replaced by main() with the child's arguments in this
    process (so that the stand-ins serve it); the commands are recorded."""
    commands = []

    def run(command, check):
        commands.append(command)
        assert command[0] == sys.executable and command[1].endswith("peers.py")
        if returncode == 0:
            with monkeypatch.context() as child:
                child.setattr(sys, "argv", command[1:])
                peers.main()
        return subprocess.CompletedProcess(command, returncode)

    monkeypatch.setattr(peers.subprocess, "run", run)
    return commands


def test_a_rerun_measures_only_the_searches_not_finished_and_keeps_the_others(tmp_path, monkeypatch, capsys):
    peers = load_peers(monkeypatch)
    commands = run_children_here(peers, monkeypatch)
    calls = []

    def stand_in(name):
        def run(data, seed, budget_s, *rest):
            calls.append((name, seed))
            if len(calls) == 3:  # the third search of the first invocation is killed
                raise KeyboardInterrupt
            return peers.Outcome(name, 0, [(1.0, 0.5 + len(calls) / 100)], 0.8, 10, 4, 0.1)
        return run

    monkeypatch.setattr(peers, "run_kerashp", lambda data, seed, budget_s, method, out: stand_in(
        f"kerashp-{method}")(data, seed, budget_s))
    monkeypatch.setattr(peers, "run_keras_tuner", stand_in("keras-tuner"))
    monkeypatch.setattr(peers, "run_optuna", stand_in("optuna"))
    monkeypatch.setattr(peers, "load_data", lambda spec, limit: types.SimpleNamespace(description=spec))
    argv = ["peers.py", "--data", "sample:fashion_mnist", "--budget-minutes", "0.1", "--repetitions", "2",
            "--searches", "kerashp-tpe,keras-tuner", "--out", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(KeyboardInterrupt):
        peers.main()
    assert calls == [("kerashp-tpe", 7), ("keras-tuner", 7), ("keras-tuner", 1007)]  # rotated order in repetition 1
    assert [command[command.index("--one") + 1] for command in commands] == [
        "kerashp-tpe:0", "keras-tuner:0", "keras-tuner:1"]  # each search in a process of its own
    assert commands[0][commands[0].index("--budget-minutes") + 1] == "0.1"
    assert commands[0][commands[0].index("--searches") + 1] == "kerashp-tpe"  # a child needs only its own peer
    saved = json.loads((tmp_path / "outcomes.json").read_text())
    assert [(o["search"], o["repetition"]) for o in saved["outcomes"]] == [("kerashp-tpe", 0), ("keras-tuner", 0)]

    calls.clear()
    peers.main()  # the rerun: repetition 1's two searches only
    assert calls == [("keras-tuner", 1007), ("kerashp-tpe", 1007)]
    summary = (tmp_path / "peers_summary.csv").read_text().splitlines()
    assert len(summary) == 5 and summary[1].startswith("kerashp-tpe,0,0.5100")  # the first invocation's figure kept
    assert "median" in capsys.readouterr().out

    monkeypatch.setattr(sys, "argv", [*argv[:4], "0.2", *argv[5:]])  # another budget into the same --out
    with pytest.raises(SystemExit) as stopped:
        peers.main()
    assert stopped.value.code == 2
    assert "measured with" in capsys.readouterr().err
    (tmp_path / "outcomes.json").write_text("{not json")
    with pytest.raises(SystemExit):
        peers.main()
    assert "cannot be read" in capsys.readouterr().err


def test_a_failed_search_process_stops_the_benchmark_with_one_line_and_keeps_what_finished(tmp_path, monkeypatch,
                                                                                             capsys):
    peers = load_peers(monkeypatch)
    monkeypatch.setattr(peers, "load_data", lambda spec, limit: types.SimpleNamespace(description=spec))
    outcome = peers.Outcome("kerashp-asha", 0, [(2.0, 0.81)], 0.8, 10, 4, 0.1)
    peers.save_outcomes(tmp_path, {"data": "sample:fashion_mnist", "train_limit": 6000, "budget_minutes": 0.1},
                        [outcome])
    run_children_here(peers, monkeypatch, returncode=1)
    monkeypatch.setattr(sys, "argv", ["peers.py", "--data", "sample:fashion_mnist", "--budget-minutes", "0.1",
                                      "--repetitions", "1", "--searches", "kerashp-asha,keras-tuner", "--out",
                                      str(tmp_path)])
    with pytest.raises(SystemExit) as stopped:
        peers.main()
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "keras-tuner search of repetition 0 failed" in error and len(error.strip().splitlines()) == 1
    saved = json.loads((tmp_path / "outcomes.json").read_text())
    assert [(o["search"], o["events"]) for o in saved["outcomes"]] == [("kerashp-asha", [[2.0, 0.81]])]


def test_in_process_runs_every_search_here(tmp_path, monkeypatch):
    peers = load_peers(monkeypatch)
    monkeypatch.setattr(peers.subprocess, "run", lambda *args, **kwargs: pytest.fail("a process was started"))
    monkeypatch.setattr(peers, "load_data", lambda spec, limit: types.SimpleNamespace(description=spec))
    monkeypatch.setattr(peers, "run_keras_tuner", lambda data, seed, budget_s, out: peers.Outcome(
        "keras-tuner", 0, [(1.0, 0.5 + seed / 100_000)], 0.8, 10, 4, 0.1))
    monkeypatch.setattr(sys, "argv", ["peers.py", "--data", "sample:fashion_mnist", "--budget-minutes", "0.1",
                                      "--repetitions", "2", "--searches", "keras-tuner", "--out", str(tmp_path),
                                      "--in-process"])
    peers.main()
    saved = json.loads((tmp_path / "outcomes.json").read_text())
    assert [(o["repetition"], o["events"][0][1]) for o in saved["outcomes"]] == [(0, 0.50007), (1, 0.51007)]


def test_every_kerashp_search_resolves_as_kerashp_run_resolves_it(tmp_path, monkeypatch):
    """The options of every kerashp search resolve as `kerashp.run` resolves them (a misspelt
    option would otherwise surface only minutes into a benchmark); the best-epoch variant differs
    from plain ASHA in restoring the best epoch only."""
    from kerashp.errors import option_style
    from kerashp.settings import resolve_runs
    from studies.fashion_grid import FashionGrid

    peers = load_peers(monkeypatch)
    resolved = {}
    with option_style("python"):
        for method in peers.kerashp_searches():  # its own and the replay's (benchmarks/replay.py)
            (settings,) = resolve_runs(FashionGrid, peers.kerashp_options(method, 7, 60.0, tmp_path / method))
            resolved[method] = settings
    plain, best = resolved["asha"], resolved["asha-best"]
    assert (plain.training.restore_best_weights, best.training.restore_best_weights) == (False, True)
    assert dataclasses.replace(best.training, restore_best_weights=False) == plain.training
    assert best.search == plain.search and best.search.prune == "asha" and best.training.seed == 7
    assert best.search.max_minutes == 1.0


def test_the_same_search_ratio_compares_each_repetition_with_the_others_best(monkeypatch):
    peers = load_peers(monkeypatch)
    first = peers.Outcome("optuna", 0, [(10.0, 0.80), (50.0, 0.86)], 0.85, 10, 5, 0.1)
    second = peers.Outcome("optuna", 1, [(20.0, 0.84), (30.0, 0.87)], 0.85, 10, 5, 0.1)
    third = peers.Outcome("optuna", 2, [], float("nan"), 0, 0, 0.0)  # nothing finished: compared with nothing
    other = peers.Outcome("keras-tuner", 0, [(5.0, 0.9)], 0.88, 10, 5, 0.1)  # alone: no pair
    pairs = peers.same_search_ratios([first, second, third, other])
    # repetition 0 reached 0.87 never; repetition 1 reached 0.86 at 30 s, against 0's 50 s
    assert pairs == [("optuna", 0, 1, float("inf")), ("optuna", 1, 0, pytest.approx(30.0 / 50.0))]


@pytest.mark.slow
def test_the_real_searches_on_table_as_space_record_the_test_accuracy_of_their_picks(tmp_path, monkeypatch):
    """With --space table-a each library's real search draws from table A's sub-grid and records
    q(t): the test accuracy of its pick each time the pick changes, the last being the pick it
    returns (shipped FashionMNIST sample, 300 training images, 6 seconds a search)."""
    pytest.importorskip("optuna")
    peers = load_peers(monkeypatch)
    peers.prepare("table-a")
    assert peers.SPACE["hidden"] == ["1024-256", "1024-128"] and peers.SPACE["momentum"] == [0.9, 0.99]
    assert peers.SPACE["init"] == ["xavier_uniform", "random_normal"] and len(peers.SPACE) == 8
    data = peers.load_data("sample:fashion_mnist", 300)
    for name in ("kerashp-asha", "keras-tuner", "optuna"):
        outcome = peers.measure(name, 0, data, budget_s=6.0)
        assert outcome.picks, name
        times = [seconds for seconds, _ in outcome.picks]
        assert times == sorted(times) and all(0.0 <= value <= 1.0 for _, value in outcome.picks)
        assert outcome.picks[-1][1] == pytest.approx(outcome.test_accuracy, abs=1e-6), name
        assert all(outcome.pick[key] in values for key, values in peers.SPACE.items() if key in outcome.pick), name
