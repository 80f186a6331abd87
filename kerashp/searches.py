"""The search methods (`--search`), one registry: each method's name, what it does, the
oracle that proposes its trials (imported only when a run starts, so the command line answers
before TensorFlow loads) and how the run treats it. The option's choices and help, the
runner's oracle and its checks are all read from here."""

from __future__ import annotations

import dataclasses
import importlib


@dataclasses.dataclass(frozen=True)
class SearchMethod:
    """One search method.

    Attributes:
        name: its `--search` name.
        help: what it does, for `--help` and the docs.
        oracle: "module:Class" of its oracle (`kerashp.tuning.oracle` and others).
        needs_trials: a search of `--trials N` configurations (N required).
        exhaustive: tries every point it has (named configurations, a grid): a failed trial
            does not stop it; others stop after `max_consecutive_failed_trials` in a row.
        prune: the pruner it implies (`--search hyperband` is random proposals pruned in
            Hyperband's brackets), or None.
        requires: the modules it needs beyond kerashp's dependencies and the extra that
            installs them (`(("optuna", "cmaes"), "kerashp[optuna]")`), checked before a run starts.
    """

    name: str
    help: str
    oracle: str
    needs_trials: bool = True
    exhaustive: bool = False
    prune: str | None = None
    requires: tuple[tuple[str, ...], str] | None = None

    def check_available(self) -> None:
        """StudyError (one line, naming what to install) where `requires` is missing."""
        if self.requires is None:
            return
        import importlib.util

        from kerashp.errors import StudyError, option_value

        modules, extra = self.requires
        missing = [module for module in modules if importlib.util.find_spec(module) is None]
        if missing:
            raise StudyError(f'{option_value("search", self.name)} needs {" and ".join(missing)}: pip install "{extra}"')

    def oracle_class(self) -> type:
        module, _, name = self.oracle.partition(":")
        return getattr(importlib.import_module(module), name)


SEARCHES: dict[str, SearchMethod] = {method.name: method for method in (
    SearchMethod("configs", "the study's named configurations, each once, in order",
                 "kerashp.tuning.oracle:NamedConfigOracle", needs_trials=False, exhaustive=True),
    SearchMethod("grid", "every point of the space in a fixed order, resumable (--trials N: stop after N)",
                 "kerashp.tuning.oracle:GridOracle", needs_trials=False, exhaustive=True),
    SearchMethod("random", "random configurations (KerasTuner's, resumable)",
                 "kerashp.tuning.oracle:ResumableRandomSearchOracle"),
    SearchMethod("bayesian", "a Gaussian process proposes (KerasTuner's, resumable)",
                 "kerashp.tuning.oracle:ResumableBayesianOracle"),
    SearchMethod("tpe", "a tree-structured Parzen estimator proposes, pruned trials ranked by how far they trained",
                 "kerashp.tuning.tpe:ResumableTPEOracle"),
    SearchMethod("optuna-tpe", "Optuna's TPESampler proposes (seeded, rebuilt from the trials on disk: "
                 "resumable); pruning stays kerashp's", "kerashp.tuning.optuna_proposer:OptunaTPEOracle",
                 requires=(("optuna",), "kerashp[optuna]")),
    SearchMethod("optuna-qmc", "Optuna's QMCSampler: a scrambled Sobol sequence, even coverage of the space "
                 "(resumable)", "kerashp.tuning.optuna_proposer:OptunaQMCOracle",
                 requires=(("optuna",), "kerashp[optuna]")),
    SearchMethod("optuna-cmaes", "Optuna's CmaEsSampler: an evolution strategy over the numeric hyperparameters "
                 "(categorical ones at random; resumable)", "kerashp.tuning.optuna_proposer:OptunaCMAESOracle",
                 requires=(("optuna", "cmaes"), "kerashp[optuna]")),
    SearchMethod("optuna-gp", "Optuna's GPSampler: a Gaussian process with log expected improvement over every "
                 "hyperparameter (resumable; needs PyTorch)", "kerashp.tuning.optuna_proposer:OptunaGPOracle",
                 requires=(("optuna", "torch"), "kerashp[optuna-gp]")),
    SearchMethod("hyperband", "random configurations pruned in Hyperband's brackets (as --search random "
                 "--prune hyperband)", "kerashp.tuning.oracle:ResumableRandomSearchOracle", prune="hyperband"),
)}


def search_help() -> str:
    """The `--search` option's help, from the registry."""
    return "; ".join(f"{method.name}: {method.help}" for method in SEARCHES.values())


def get(name: str) -> SearchMethod:
    """The method named `name`; ValueError naming the choices otherwise."""
    try:
        return SEARCHES[name]
    except KeyError:
        raise ValueError(f"unknown search {name!r}; choose from {', '.join(SEARCHES)}") from None
