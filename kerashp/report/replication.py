"""The "Original vs here" section of results.md: the original's numbers next to
kerashp's across seeds, and one verdict per claim (see `kerashp.original`).

A claim says that every configuration of one group beats every one of another
on a metric. Each such pair is compared seed by seed (runs with equal seeds are
paired, as in `kerashp.report.uncertainty`): separated when the paired t-test's
p is below 0.05 and the 95% bootstrap interval of the mean difference excludes
0. The claim is *reproduced* when every pair is separated in its direction,
*contradicted* when any pair is separated against it, and otherwise *not
separated with n seeds* (with the direction the means take).
"""

from __future__ import annotations

import math
import pathlib
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from kerashp.original import Claim, Original, Reported
from kerashp.report import uncertainty

if TYPE_CHECKING:
    from kerashp.storage.records import TrialRecord

REPRODUCED, CONTRADICTED, NOT_SEPARATED, NOT_RUN = "reproduced", "contradicted", "not separated", "not run"


def _format(value: float, fraction: bool) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value * 100:.2f}%" if fraction else f"{value:.4g}"


def _is_fraction(metric: str) -> bool:
    return "accuracy" in metric or metric.startswith("test_within")


# How near our mean must be to a published figure, where the original gives no deviation and our
# interval holds it, for the two to agree: 3 points of an accuracy, else 10% of the figure. A wider
# interval that holds it decides nothing.
AGREEMENT = {"fraction": 0.03, "relative": 0.10}


def figure_verdict(published: Reported, mean: float, low: float, high: float, fraction: bool) -> str:
    """Whether our mean agrees with a published figure: within the original's standard
    deviation (where it gives one), or the figure inside our 95% interval and that interval
    narrow enough to tell (`AGREEMENT`); else undecided (a wide interval) or outside."""
    if not math.isfinite(mean):
        return "-"
    gap = abs(mean - published.value)
    difference = f"{'+' if mean >= published.value else '-'}{_format(gap, fraction)}"
    if published.std is not None and gap <= published.std:
        return f"within the original's deviation ({difference})"
    if math.isfinite(low) and low <= published.value <= high:
        tolerance = AGREEMENT["fraction"] if fraction else AGREEMENT["relative"] * abs(published.value)
        if (high - low) / 2 <= tolerance:
            return f"within our interval ({difference})"
        return f"undecided: our interval is {_format(high - low, fraction)} wide ({difference})"
    where = "the original's deviation and our interval" if published.std is not None else (
        "our interval" if math.isfinite(low) else "one run, no interval")
    return f"**outside** {where} ({difference})"


def claim_verdict(claim: Claim, values: pd.DataFrame, seed: int = 0) -> tuple[str, str]:
    """(verdict, detail) of one claim on `values` (`uncertainty.seed_values` of its metric)."""
    names = list(values.index)
    better = list(claim.better) or [n for n in names if n not in claim.worse]
    worse = list(claim.worse) or [n for n in names if n not in claim.better]
    missing = [n for n in dict.fromkeys(better + worse) if n not in names]
    if missing:
        return NOT_RUN, f"{', '.join(missing)} not run here"
    fraction = _is_fraction(claim.metric)
    sign = 1.0 if claim.higher_is_better else -1.0
    rng = np.random.default_rng(seed)
    against, separated, details, counts, agreeing = False, 0, [], [], 0
    pairs = [(a, b) for a in better for b in worse if a != b]
    if not pairs:
        return NOT_RUN, f"nothing to compare {', '.join(better)} with here (only {', '.join(names)} ran)"
    for a, b in pairs:
        paired = pd.DataFrame({"a": values.loc[a], "b": values.loc[b]}).dropna()
        differences = (paired["a"] - paired["b"]) * sign  # > 0: as claimed
        n = len(differences)
        counts.append(n)
        mean = float(differences.mean()) if n else math.nan
        agreeing += mean > 0
        shown = f"{mean * 100:+.1f} points" if fraction else f"{mean:+.4g}"
        if n >= 2:
            p = uncertainty.paired_t_p_value(differences)
            low, high = uncertainty.bootstrap_mean_interval(differences, rng)
            if p < 1 - uncertainty.CONFIDENCE and (low > 0 or high < 0):
                if mean > 0:
                    separated += 1
                else:
                    against = True
            details.append(f"{a} vs {b} {shown} (p = {p:.2g})")
        else:
            details.append(f"{a} vs {b} {shown}")
    seeds = min(counts) if counts else 0
    detail = "; ".join(details)
    if against:
        return CONTRADICTED, detail
    if pairs and separated == len(pairs):
        return REPRODUCED, detail
    direction = ("the means agree with it" if agreeing == len(pairs)
                 else "the means go against it" if agreeing == 0 else "the means agree in part")
    return f"{NOT_SEPARATED} with {seeds} seed{'s' if seeds != 1 else ''}", f"{direction}: {detail}"


def replication_markdown(original: Original | dict[str, Any], trials: Sequence[TrialRecord], *,
                         here: str, metric_titles: dict[str, str] | None = None, seed: int = 0) -> str:
    """The "Original vs here" section.

    Args:
        original: the declaration (or its JSON form).
        trials: the study directory's trial records.
        here: kerashp's budget in words (data, epochs, batch, defaults, seeds).
        metric_titles: column titles of the metrics, for the table.
        seed: seed of the bootstrap.
    """
    if isinstance(original, dict):
        original = Original.from_json(original)
    titles = metric_titles or {}
    lines = ["", "## Original vs here", "",
             f"- original: {original.source}; its budget: {original.budget}",
             f"- here: {here}"]
    if original.notes:
        lines.append(f"- note: {original.notes}")
    cache: dict[str, pd.DataFrame] = {}
    ran = {trial.name for trial in trials}

    def values_of(metric: str) -> pd.DataFrame:
        if metric not in cache:
            cache[metric] = uncertainty.seed_values(trials, metric)
        return cache[metric]

    if original.results:
        lines += ["", "| configuration | metric | original | here: mean [95% CI] | runs | verdict |",
                  "|---|---|---|---|---|---|"]
        for name, metrics in original.results.items():
            for metric, figure in metrics.items():
                published = Reported.of(figure)
                fraction = _is_fraction(metric)
                values = values_of(metric)
                verdict = "-"
                if name in values.index:
                    row = values.loc[name].dropna()
                    mean, _, low, high = uncertainty.mean_interval(row)
                    interval = (f" [{_format(low, fraction)}, {_format(high, fraction)}]"
                                if math.isfinite(low) else "")
                    shown, runs = f"{_format(mean, fraction)}{interval}", str(len(row))
                    verdict = figure_verdict(published, mean, low, high, fraction)
                else:
                    shown, runs = ("not recorded" if name in ran else "not run"), "0"
                deviation = f" ± {_format(published.std, fraction)}" if published.std is not None else ""
                note = f" ({published.note})" if published.note else ""
                lines.append(f"| {name} | {titles.get(metric, metric)} | {_format(published.value, fraction)}"
                             f"{deviation}{note} | {shown} | {runs} | {verdict} |")
    if original.claims:
        lines += ["", "Claims of the original, tested across seeds (a pair is separated when the paired t-test's "
                      "p < 0.05 and the 95% bootstrap interval of the difference excludes 0):", ""]
        for claim in original.claims:
            verdict, detail = claim_verdict(claim, values_of(claim.metric), seed)
            lines.append(f"- \"{claim.text}\" ({titles.get(claim.metric, claim.metric)}): **{verdict}**; {detail}")
    return "\n".join(lines) + "\n"


SECTION_TITLE = "## Original vs here"


def records_from_tables(results: pd.DataFrame, seeds: pd.DataFrame | None = None) -> list[TrialRecord]:
    """Trial records rebuilt from a study directory's committed tables, for
    `replication_markdown` where the runs' own files are gone.

    A row of `results` (results.csv) that stands for one run gives that run's
    figures; a row that averages several runs (`runs` > 1) needs their values
    per run, which `seeds` (seeds.csv: metric, name, run, value) holds for the
    compared metrics only, so the other metrics of such a row are left out.

    Raises:
        StudyError: a table without the columns a report writes, or means of
            several runs without seeds.csv.
    """
    from kerashp.errors import StudyError
    from kerashp.storage.records import ExecutionRecord, TrialRecord

    if "name" not in results.columns:
        raise StudyError("results.csv has no 'name' column: not a kerashp results table")
    runs = results["runs"].fillna(1).astype(int) if "runs" in results.columns else pd.Series(1, index=results.index)
    if (runs > 1).any() and seeds is None:
        raise StudyError("results.csv holds means over several runs and there is no seeds.csv with each run's values")
    skip = {"trial", "name", "status", "runs", "epochs", "message"}
    records = []
    for (_, row), count in zip(results.iterrows(), runs):
        if str(row.get("status", "COMPLETED")) != "COMPLETED":
            continue
        if count == 1:
            summaries = {0: {key: float(value) for key, value in row.items()
                             if key not in skip and isinstance(value, (int, float, np.number)) and not pd.isna(value)}}
        else:
            own = seeds[seeds["name"] == row["name"]]
            summaries = {}
            for (run, metric), value in own.set_index(["run", "metric"])["value"].items():
                summaries.setdefault(int(run), {})[metric] = float(value)
        executions = [ExecutionRecord(index, None, summary=summary) for index, summary in sorted(summaries.items())]
        records.append(TrialRecord(str(row.get("trial", row["name"])), "COMPLETED", {"config": row["name"]}, None,
                                   executions))
    return records


def with_section(markdown: str, section: str) -> str:
    """`markdown` with its "Original vs here" section (up to the next "## "
    heading) replaced by `section`, or `section` appended where it has none."""
    lines = markdown.rstrip("\n").split("\n")
    if SECTION_TITLE in lines:
        start = lines.index(SECTION_TITLE)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        while start > 0 and not lines[start - 1].strip():
            start -= 1
        rest = lines[end:]
        lines = lines[:start] + section.rstrip("\n").split("\n") + ([""] + rest if rest else [])
        return "\n".join(lines) + "\n"
    return "\n".join(lines) + "\n" + section


def header_value(markdown: str, key: str) -> str | None:
    """The value of a results.md header line `- key: value`, or None."""
    prefix = f"- {key}: "
    return next((line[len(prefix):] for line in markdown.split("\n") if line.startswith(prefix)), None)


def compare_directory(original: Original, directory: pathlib.Path, metric_titles: dict[str, str]) -> pathlib.Path:
    """Writes the "Original vs here" section into `directory`/results.md from its
    results.csv (and seeds.csv), replacing an earlier one (`kerashp compare`);
    returns results.md's path.

    Raises:
        StudyError: no results.csv, an unreadable table, or means without per-run values.
    """
    from kerashp.errors import StudyError
    from kerashp.storage.records import write_text_atomic

    tables = {}
    for name in ("results.csv", "seeds.csv"):
        path = directory / name
        if not path.is_file():
            if name == "results.csv":
                raise StudyError(f"{path}: no such file (give a study directory with its results table)")
            continue
        try:
            tables[name] = pd.read_csv(path, dtype={"trial": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise StudyError(f"{path}: not a readable table ({str(error).strip().splitlines()[-1]})") from None
    records = records_from_tables(tables["results.csv"], tables.get("seeds.csv"))
    markdown_path = directory / "results.md"
    markdown = markdown_path.read_text(encoding="utf-8") if markdown_path.is_file() else ""
    described = [header_value(markdown, key) for key in ("data", "budget")]
    options = header_value(markdown, "options")
    here = "; ".join([*filter(None, described), *([f"options {options}"] if options and options != "{}" else []),
                      f"figures from {' and '.join(tables)} (`kerashp compare`)"])
    section = replication_markdown(original, records, here=here, metric_titles=metric_titles)
    write_text_atomic(markdown_path, with_section(markdown, section))
    return markdown_path
