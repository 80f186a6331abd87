"""Reporting: tables and figures rebuilt from what is on disk."""

from kerashp.report.figures import (
    GRADIENT_NORMS_FILE,
    curves_by_epoch,
    plot_gradient_norms,
    plot_learning_curve_grid,
    plot_learning_curves,
)
from kerashp.names import DEFAULT_METRICS
from kerashp.report.tables import markdown_table, results_table, write_results

__all__ = [
    "DEFAULT_METRICS",
    "GRADIENT_NORMS_FILE",
    "curves_by_epoch",
    "markdown_table",
    "plot_gradient_norms",
    "plot_learning_curve_grid",
    "plot_learning_curves",
    "results_table",
    "write_results",
]
