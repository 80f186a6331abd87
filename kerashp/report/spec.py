"""What the report needs of a study: `ReportSpec`, saved as `tuner/kerashp_study.json`.

It holds what the study declares for its report (table columns, curves, objective, compared
metrics, the original it mirrors) and the run's settings themselves (`StudySettings`, the
typed groups the run was made with; no copy of them), so that `kerashp report`, `kerashp
status` and `kerashp.load_results` rebuild a report from the directory alone, without the
study's code, Keras or KerasTuner. Light to import: no pandas, no matplotlib.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any

from kerashp.errors import StudyError
from kerashp.names import DEFAULT_METRICS
from kerashp.settings import StudySettings
from kerashp.storage import layout

# A spec saved before the settings were kept whole (every setting at the top level): where
# each of its keys lives in `StudySettings` (group, field); None: the top level.
FLAT_SETTINGS = {
    "experiment": (None, "experiment"), "quick": (None, "quick"),
    "search": ("search", "method"), "trials": ("search", "trials"), "prune": ("search", "prune"),
    "min_epochs": ("search", "min_epochs"), "eta": ("search", "eta"),
    "seeds": ("training", "seeds"), "seed": ("training", "seed"), "batch_size": ("training", "batch_size"),
    "epochs": ("training", "epochs"), "options": ("training", "options"), "overrides": ("training", "overrides"),
    "defaults": ("training", "defaults"), "pack": ("hardware", "pack"), "reference": ("output", "reference"),
}


@dataclasses.dataclass
class ReportSpec:
    """What the report needs of a study and its run (saved as JSON).

    Attributes:
        name: the study's name.
        description: the study's one-line description.
        experiment_description: the description of the experiment run, if any.
        experiment_names: all the study's experiments, in its order.
        hyperparameters: the table's hyperparameter columns.
        metrics: the table's metric columns, (name, title).
        curves: the learning-curve figures, (metric, title).
        curve_grid: the panels of learning_curves.png, or None.
        objective: the metric searched and ranked by.
        objective_direction: "max" or "min".
        isolation_hyperparameter: the hyperparameter isolation.png groups by.
        compared_metrics: the metrics compared across seeds.
        epochs_text: the budget in words where epochs vary by trial ("" otherwise).
        original: `kerashp.original.Original.to_json()` of the study or experiment.
        settings: the run's settings (`StudySettings`).
        data: the data the run trained on, in words.
        total: trials the run will have when done (None: unknown).
    """

    name: str
    description: str = ""
    experiment_description: str = ""
    experiment_names: tuple[str, ...] = ()
    hyperparameters: tuple[str, ...] = ()
    metrics: tuple[tuple[str, str], ...] = DEFAULT_METRICS
    curves: tuple[tuple[str, str], ...] = (("val_accuracy", "Validation accuracy"), ("loss", "Training loss"))
    curve_grid: tuple[tuple[str, str], ...] | None = None
    objective: str = "val_accuracy"
    objective_direction: str = "max"
    isolation_hyperparameter: str | None = None
    compared_metrics: tuple[str, ...] = ()
    epochs_text: str = ""
    original: dict[str, Any] | None = None
    settings: StudySettings = dataclasses.field(default_factory=lambda: StudySettings(study=""))
    data: str = ""
    total: int | None = None

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> "ReportSpec":
        """A spec from its JSON, as saved by this version or by an earlier one (whose
        settings were flat keys beside the study's declarations)."""
        fields = {field.name for field in dataclasses.fields(cls)} - {"settings"}
        values: dict[str, Any] = {key: value for key, value in payload.items() if key in fields}
        for key in ("hyperparameters", "compared_metrics", "experiment_names"):
            if key in values:
                values[key] = tuple(values[key])
        for key in ("metrics", "curves", "curve_grid"):
            if values.get(key) is not None:
                values[key] = tuple(tuple(pair) for pair in values[key])
        saved = payload.get("settings")
        if not isinstance(saved, dict):  # a spec saved with flat settings
            saved = {"study": payload.get("name", "")}
            for key, (group, field) in FLAT_SETTINGS.items():
                if key in payload:
                    (saved.setdefault(group, {}) if group else saved)[field] = payload[key]
        return cls(**values, settings=StudySettings.from_json(saved))

    def to_json(self) -> dict[str, Any]:
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(self) if field.name != "settings"}
        return json.loads(json.dumps({**values, "settings": self.settings.describe()}, default=str))

    @property
    def experiment(self) -> str | None:
        return self.settings.experiment

    @property
    def title(self) -> str:
        return self.name + (f" / {self.experiment}" if self.experiment else "")

    @property
    def searching(self) -> bool:
        return self.settings.search.method != "configs"

    @property
    def higher_is_better(self) -> bool:
        return self.objective_direction == "max"

    @property
    def rank_by(self) -> str:
        return f"best_{self.objective}"


def load(project: pathlib.Path) -> ReportSpec | None:
    """The spec saved in a project directory (`<out>/tuner`), or None where none is."""
    saved = layout.read_study(project)
    if saved is None:
        return None
    try:
        if not isinstance(saved, dict):
            raise TypeError("not a JSON object")
        return ReportSpec.from_json(saved)
    except (TypeError, ValueError, AttributeError) as error:
        raise StudyError(f"{pathlib.Path(project) / layout.STUDY_FILE} holds JSON of the wrong shape ({error}): "
                         "restore it from a copy, or pass --overwrite to start afresh") from None


__all__ = ["ReportSpec", "load"]
