"""How sure a study's conclusions are: statistics across seeds.

Run `i` of every trial uses seed `seed + i`: the same initial weights (for the
same architecture) and the same batches, so runs with equal seeds are paired
and a configuration is compared with the reference seed by seed. For each
configuration and compared metric this module gives:

- mean, sample std and a 95% t confidence interval of the mean over seeds;
- against the reference (the first configuration, or in a search the best): the paired
  difference per seed, its mean, a 95% bootstrap (percentile) interval over seeds, a
  paired t-test p-value Holm-adjusted for the number of comparisons, and Wilcoxon's
  signed-rank p-value;
- the probability that the configuration ranks first (bootstrap over seeds,
  the same resampled seeds for every configuration);
- a plain-language verdict, and where the seeds do not separate it from the
  reference, how many seeds a paired t-test would need to separate a
  difference of the measured size with the measured spread (80% power).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:  # records imports the tuning package, which imports this one
    from kerashp.storage.records import TrialRecord

CONFIDENCE = 0.95
BOOTSTRAP_SAMPLES = 10_000
POWER = 0.8
MAX_SEEDS_ADVISED = 1000


def seed_values(trials: Sequence[TrialRecord], metric: str) -> pd.DataFrame:
    """`metric` of every finished run: one row per trial (by name, in trial order),
    one column per run index (seed offset); NaN where a run is missing."""
    rows = {}
    for trial in trials:
        values = {e.index: float(e.summary[metric]) for e in trial.executions
                  if e.finished and e.summary.get(metric) is not None}
        if values:
            rows[trial.name] = values
    frame = pd.DataFrame.from_dict(rows, orient="index")
    return frame.reindex(sorted(frame.columns), axis=1) if len(frame.columns) else frame


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float, float]:
    """(mean, sample std, low, high): the t interval of the mean; NaN bounds below two values."""
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if len(x) == 0:
        return (math.nan,) * 4
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan, math.nan
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1)) * std / math.sqrt(len(x))
    return mean, std, mean - half, mean + half


def paired_t_p_value(differences: Sequence[float]) -> float:
    """Two-sided p-value of a paired t-test on per-seed differences (NaN below two)."""
    d = np.asarray(differences, dtype=float)
    if len(d) < 2:
        return math.nan
    spread = d.std(ddof=1)
    if spread == 0:
        return 0.0 if d.mean() != 0 else 1.0
    t = d.mean() / (spread / math.sqrt(len(d)))
    return float(2 * stats.t.sf(abs(t), len(d) - 1))


def signed_rank_p_value(differences: Sequence[float]) -> float:
    """Two-sided p-value of Wilcoxon's signed-rank test on per-seed differences (exact for
    few seeds; NaN below two or where every difference is 0): a check that does not assume
    normal differences, as a seed that failed to train makes them."""
    d = np.asarray(differences, dtype=float)
    if len(d) < 2 or not np.any(d != 0):
        return math.nan
    return float(stats.wilcoxon(d, zero_method="zsplit", alternative="two-sided").pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of p-values for the number of comparisons made
    (NaN stays NaN and does not count): reject where the adjusted p is below alpha."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None and math.isfinite(p))
    adjusted = [math.nan] * len(p_values)
    running, count = 0.0, len(indexed)
    for rank, (p, index) in enumerate(indexed):
        running = max(running, min(1.0, (count - rank) * p))
        adjusted[index] = running
    return adjusted


def bootstrap_mean_interval(values: Sequence[float], rng: np.random.Generator,
                            samples: int = BOOTSTRAP_SAMPLES, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (resampling the values with replacement)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return math.nan, math.nan
    means = x[rng.integers(0, len(x), size=(samples, len(x)))].mean(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def probability_first(values: pd.DataFrame, higher_is_better: bool, rng: np.random.Generator,
                      samples: int = BOOTSTRAP_SAMPLES) -> pd.Series:
    """Per row of `values` (configurations x seeds, seeds every row has), how often
    its mean is the best when the seeds are resampled with replacement (ties shared)."""
    complete = values.dropna(axis=1)
    if complete.shape[1] == 0 or len(complete) == 0:
        return pd.Series(math.nan, index=values.index)
    matrix = complete.to_numpy()
    picks = rng.integers(0, matrix.shape[1], size=(samples, matrix.shape[1]))
    means = matrix[:, picks].mean(axis=2)  # configurations x samples
    best = means.max(axis=0) if higher_is_better else means.min(axis=0)
    winners = np.isclose(means, best[np.newaxis, :], rtol=0, atol=1e-12)
    shares = (winners / winners.sum(axis=0, keepdims=True)).mean(axis=1)
    return pd.Series(shares, index=complete.index).reindex(values.index)


def seeds_to_separate(difference: float, spread: float, alpha: float = 1 - CONFIDENCE,
                      power: float = POWER) -> int | None:
    """The fewest seeds with which a two-sided paired t-test at level `alpha` finds a
    true mean difference `difference` with per-seed spread `spread` with probability
    `power`; None where it cannot be said (no difference, no spread measured) or
    more than MAX_SEEDS_ADVISED."""
    if not (np.isfinite(difference) and np.isfinite(spread)) or difference == 0 or spread <= 0:
        return None
    effect = abs(difference) / spread
    for n in range(2, MAX_SEEDS_ADVISED + 1):
        critical = stats.t.ppf(1 - alpha / 2, n - 1)
        shift = effect * math.sqrt(n)
        achieved = stats.nct.sf(critical, n - 1, shift) + stats.nct.cdf(-critical, n - 1, shift)
        if achieved >= power:
            return n
    return None


@dataclasses.dataclass
class MetricComparison:
    """The across-seeds statistics of one metric.

    Attributes:
        metric: the summary key (e.g. `best_val_accuracy`).
        reference: the configuration the others are compared with.
        higher_is_better: the metric's direction.
        summary: one row per configuration: runs, mean, std, ci_low, ci_high,
            diff, diff_ci_low, diff_ci_high, p_value, seeds_needed, p_first.
        per_seed: one row per configuration and seed: value, reference value
            and their difference.
        verdicts: one plain-language line per configuration other than the reference.
    """

    metric: str
    reference: str
    higher_is_better: bool
    summary: pd.DataFrame
    per_seed: pd.DataFrame
    verdicts: list[str]


def is_fraction_metric(metric: str, values: pd.DataFrame) -> bool:
    """Accuracy-like metrics in [0, 1] are reported in percentage points."""
    finite = values.to_numpy()[np.isfinite(values.to_numpy())]
    return "accuracy" in metric and len(finite) > 0 and finite.min() >= 0 and finite.max() <= 1


def compare_metric(trials: Sequence[TrialRecord], metric: str, reference: str | None, higher_is_better: bool,
                   seed: int = 0, samples: int = BOOTSTRAP_SAMPLES,
                   best_as_reference: bool = False) -> MetricComparison | None:
    """Compares every configuration of `trials` with `reference` (default: the first, or
    with `best_as_reference`, as in a search, the one with the best mean) on `metric`;
    p-values are Holm-adjusted for the number of comparisons. None where no run has the metric."""
    values = seed_values(trials, metric)
    if values.empty:
        return None
    if reference not in values.index:
        means = values.mean(axis=1, skipna=True)
        reference = (means.idxmax() if higher_is_better else means.idxmin()) \
            if best_as_reference and means.notna().any() else values.index[0]
    rng = np.random.default_rng(seed)
    scale, unit = (100.0, " points") if is_fraction_metric(metric, values) else (1.0, "")
    reference_values = values.loc[reference]
    rows, seed_rows, verdicts = [], [], []
    fraction = bool(unit)
    for name, row in values.iterrows():
        mean, std, low, high = mean_interval(row.dropna())
        if fraction and np.isfinite(low):
            low, high = max(low, 0.0), min(high, 1.0)
        record = {"name": name, "runs": int(row.notna().sum()), "mean": mean, "std": std,
                  "ci_low": low, "ci_high": high}
        paired = pd.DataFrame({"value": row, "reference": reference_values}).dropna()
        differences = paired["value"] - paired["reference"]
        for run, pair in paired.iterrows():
            seed_rows.append({"name": name, "run": int(run), "value": pair["value"],
                              "reference_value": pair["reference"], "difference": pair["value"] - pair["reference"]})
        if name != reference:
            diff_low, diff_high = bootstrap_mean_interval(differences, rng, samples)
            spread = float(differences.std(ddof=1)) if len(differences) > 1 else math.nan
            record.update(diff=float(differences.mean()) if len(differences) else math.nan,
                          diff_ci_low=diff_low, diff_ci_high=diff_high, p_value=paired_t_p_value(differences),
                          signed_rank_p=signed_rank_p_value(differences), seeds=len(differences),
                          seeds_needed=seeds_to_separate(float(differences.mean()), spread) if len(differences) else None)
        rows.append(record)
    compared = [record for record in rows if record["name"] != reference]
    for record, adjusted in zip(compared, holm([record["p_value"] for record in compared])):
        record["p_holm"] = adjusted
        verdicts.append(verdict(record["name"], reference, record, record["seeds"], higher_is_better, scale, unit,
                                comparisons=len(compared)))
    summary = pd.DataFrame(rows).set_index("name")
    summary["p_first"] = probability_first(values, higher_is_better, rng, samples)
    return MetricComparison(metric, reference, higher_is_better, summary.reset_index(),
                            pd.DataFrame(seed_rows), verdicts)


def _scaled(value: float, scale: float, unit: str, signed: bool = False) -> str:
    """A value in the verdict's unit: points (one decimal) for accuracies, else 4 digits."""
    if unit:
        return f"{value * scale:+.1f}" if signed else f"{value * scale:.1f}"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def verdict(name: str, reference: str, record: dict, seeds: int, higher_is_better: bool, scale: float,
            unit: str, comparisons: int = 1) -> str:
    """One line: whether `name` beats, loses to, or is not separated from `reference`.

    Separated: the paired t-test's p, Holm-adjusted for the `comparisons` made against the
    reference, is below 0.05 and the bootstrap interval of the difference excludes 0. The
    signed-rank test's p is named beside it.
    """
    if seeds < 2:
        return (f"{name} vs {reference}: {seeds} paired seed(s), no uncertainty can be measured; "
                "run --seeds 3 or more")
    diff, low, high, p = record["diff"], record["diff_ci_low"], record["diff_ci_high"], record["p_value"]
    p_holm = record.get("p_holm", p)
    interval = f"95% CI [{_scaled(low, scale, unit)}, {_scaled(high, scale, unit)}]"
    tests = f"paired t-test p = {p:.2g}" + (f" (Holm-adjusted for {comparisons} comparisons: {p_holm:.2g})"
                                             if comparisons > 1 else "")
    rank = record.get("signed_rank_p")
    rank_text = f", signed-rank p = {rank:.2g}" if rank is not None and math.isfinite(rank) else ""
    if p_holm < 1 - CONFIDENCE and (low > 0 or high < 0):
        word = "beats" if (diff > 0) == higher_is_better else "is worse than"
        return (f"{name} {word} {reference} by {_scaled(abs(diff), scale, unit)}{unit}, {interval}, "
                f"{tests}{rank_text}, {seeds} seeds")
    needed = record.get("seeds_needed")
    advice = (f"about {needed} seeds would separate a difference of this size with this spread (80% power)"
              if needed else "the difference is too small against its spread to be separated by any "
              f"affordable number of seeds (over {MAX_SEEDS_ADVISED})" if diff != 0 else "no difference measured")
    return (f"{name} vs {reference}: not separated with {seeds} seeds ({_scaled(diff, scale, unit, signed=True)}"
            f"{unit}, {interval}, {tests}{rank_text}); {advice}")


def comparison_markdown(comparisons: Sequence[MetricComparison]) -> str:
    """The "Across seeds" section of results.md."""
    if not comparisons:
        return ""
    lines = ["", "## Across seeds", "",
             "Runs with the same seed share initial weights and batches, so each configuration is compared "
             "with the reference seed by seed: mean ± std and a 95% t interval over seeds; the paired difference "
             f"with its 95% bootstrap interval ({BOOTSTRAP_SAMPLES} resamples of the seeds) and a paired t-test; "
             "P(first): how often the configuration has the best mean when the seeds are resampled. "
             "A verdict says \"beats\" only where the paired t-test's p, Holm-adjusted for the number of "
             "configurations compared with the reference, is below 0.05 and the bootstrap interval "
             "excludes 0: with few seeds the bootstrap interval is too narrow (it cannot be wider than the "
             "observed differences), the t-test accounts for that. Wilcoxon's signed-rank test (no normality "
             "assumed: a seed that failed to train does not sway it) is shown beside it; with fewer than 6 "
             "seeds it cannot reach p < 0.05. In a search the reference is the trial with the best mean. "
             "Intervals of accuracies are clipped to [0, 1].",
             ""]
    for comparison in comparisons:
        direction = "higher" if comparison.higher_is_better else "lower"
        lines += [f"### {comparison.metric} ({direction} is better; reference: {comparison.reference})", "",
                  "| name | runs | mean ± std | 95% CI | difference vs reference | 95% CI of the difference "
                  "| p (paired t) | p (Holm) | p (signed rank) | P(first) |", "|---|---|---|---|---|---|---|---|---|---|"]
        for _, row in comparison.summary.iterrows():
            reference_row = row["name"] == comparison.reference
            cells = [str(row["name"]), str(int(row["runs"])), f"{_num(row['mean'])} ± {_num(row['std'])}",
                     f"[{_num(row['ci_low'])}, {_num(row['ci_high'])}]",
                     "(reference)" if reference_row else _num(row.get("diff"), signed=True),
                     "" if reference_row else f"[{_num(row.get('diff_ci_low'))}, {_num(row.get('diff_ci_high'))}]",
                     "" if reference_row else _num(row.get("p_value"), digits=2),
                     "" if reference_row else _num(row.get("p_holm"), digits=2),
                     "" if reference_row else _num(row.get("signed_rank_p"), digits=2),
                     _num(row["p_first"], digits=2)]
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", *(f"- {line}" for line in comparison.verdicts), ""]
    return "\n".join(lines)


def _num(value, signed: bool = False, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:+.{digits}g}" if signed else f"{value:.{digits}g}"


def comparison_columns(comparisons: Sequence[MetricComparison]) -> pd.DataFrame:
    """The statistics as columns for results.csv, indexed by configuration name:
    `<metric>_ci_low`, `_ci_high`, `_diff`, `_diff_ci_low`, `_diff_ci_high`,
    `_p_value`, `_seeds_needed`, `_p_first`."""
    frames = []
    for comparison in comparisons:
        keep = [c for c in ("ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high", "p_value", "p_holm",
                            "signed_rank_p", "seeds_needed", "p_first") if c in comparison.summary]
        frame = comparison.summary.set_index("name")[keep]
        frames.append(frame.add_prefix(f"{comparison.metric}_"))
    return pd.concat(frames, axis=1) if frames else pd.DataFrame()


def per_seed_table(comparisons: Sequence[MetricComparison]) -> pd.DataFrame:
    """Every configuration's value per seed run and its paired difference, all metrics."""
    frames = [c.per_seed.assign(metric=c.metric, reference=c.reference) for c in comparisons if not c.per_seed.empty]
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    return table[["metric", "name", "run", "value", "reference", "reference_value", "difference"]]
