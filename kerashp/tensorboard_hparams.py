"""TensorBoard HParams dashboard: the experiment config and one session per run.

KerasTuner's TensorBoard integration leaves the HParams tab empty unless an
experiment config is written (keras-tuner #427); this module writes both the
config (at the root of the study's TensorBoard directory) and, per run, the
hyperparameter values and summary metrics, through `callbacks.EventWriter`
(the tensorboard package's writer: no TensorFlow needed).
"""

from __future__ import annotations

import pathlib
from typing import Any, Mapping, Sequence

from callbacks.tensorboard_events import EventWriter

# Metrics shown as HParams columns: (tag, group, display name). Groups are the
# sub-directories where callbacks.EpochScalars writes epoch scalars; the
# summary scalars written by `write_run_summary` sit in the run directory ("").
HPARAMS_METRICS: tuple[tuple[str, str, str], ...] = (
    ("epoch_accuracy", "validation", "val accuracy"),
    ("epoch_loss", "validation", "val loss"),
    ("epoch_accuracy", "train", "train accuracy"),
    ("epoch_loss", "train", "train loss"),
    ("best_val_accuracy", "", "best val accuracy"),
    ("images_per_second", "", "images/s"),
)


def _hparam_value(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def write_experiment_config(log_dir: pathlib.Path, hparam_names: Sequence[str]) -> None:
    """Writes the HParams experiment config (the columns of the dashboard)."""
    from tensorboard.plugins.hparams import summary_v2 as hparams_summary

    hparams = [hparams_summary.HParam(name) for name in hparam_names]
    metrics = [
        hparams_summary.Metric(tag, group=group or None, display_name=display)
        for tag, group, display in HPARAMS_METRICS
    ]
    with EventWriter(log_dir) as writer:
        writer.summary(hparams_summary.hparams_config_pb(hparams=hparams, metrics=metrics))


def write_run_summary(run_dir: pathlib.Path, values: Mapping[str, Any], summary: Mapping[str, Any]) -> None:
    """Records one run's hyperparameter values and final figures for the dashboard."""
    from tensorboard.plugins.hparams import summary_v2 as hparams_summary

    with EventWriter(run_dir) as writer:
        writer.summary(hparams_summary.hparams_pb({k: _hparam_value(v) for k, v in values.items()},
                                                  trial_id=run_dir.name))
        for key in ("best_val_accuracy", "images_per_second", "final_val_loss", "train_time_s"):
            if key in summary and summary[key] is not None:
                writer.scalar(key, float(summary[key]), step=0)
