"""KerasTuner integration: the study HyperModel, oracles, the tuner and the runner."""

from kerashp.tuning.hypermodel import Experiment, StudyHyperModel, variant
from kerashp.tuning.oracle import NamedConfigOracle
from kerashp.tuning.runner import run_study
from kerashp.tuning.tuner import StudyTuner

__all__ = ["Experiment", "NamedConfigOracle", "StudyHyperModel", "StudyTuner", "run_study", "variant"]
