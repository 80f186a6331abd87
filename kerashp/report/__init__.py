"""Reporting: tables and figures rebuilt from what is on disk.

The names below load their modules (pandas, matplotlib) when first used, so that a light
part of the report (`kerashp.report.spec`, read by `kerashp status`) imports quickly.
"""

from __future__ import annotations

from kerashp.lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_METRICS": "kerashp.names",
    "GRADIENT_NORMS_FILE": "kerashp.report.figures",
    "curves_by_epoch": "kerashp.report.figures",
    "plot_gradient_norms": "kerashp.report.figures",
    "plot_learning_curve_grid": "kerashp.report.figures",
    "plot_learning_curves": "kerashp.report.figures",
    "markdown_table": "kerashp.report.tables",
    "results_table": "kerashp.report.tables",
    "write_results": "kerashp.report.tables",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)
