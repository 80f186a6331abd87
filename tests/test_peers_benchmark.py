"""benchmarks/peers.py keeps every finished search: a rerun with the same settings measures
only the searches not finished yet, and refuses an --out measured with other settings (the
searches themselves are replaced by stand-ins here; the benchmark trains for minutes); and
every kerashp search's options are options `kerashp.run` accepts."""

import dataclasses
import importlib.util
import json
import logging
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


def test_a_rerun_measures_only_the_searches_not_finished_and_keeps_the_others(tmp_path, monkeypatch, capsys):
    peers = load_peers(monkeypatch)
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
        for method in peers.KERASHP_SEARCHES:
            (settings,) = resolve_runs(FashionGrid, peers.kerashp_options(method, 7, 60.0, tmp_path / method))
            resolved[method] = settings
    plain, best = resolved["asha"], resolved["asha-best"]
    assert (plain.training.restore_best_weights, best.training.restore_best_weights) == (False, True)
    assert dataclasses.replace(best.training, restore_best_weights=False) == plain.training
    assert best.search == plain.search and best.search.prune == "asha" and best.training.seed == 7
    assert best.search.max_minutes == 1.0
