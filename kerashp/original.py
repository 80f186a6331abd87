"""What the original of a mirrored study reported: its numbers and its claims.

A study (or one of its experiments) declares an `Original`; every results.md
then gets an "Original vs here" section: the original's number next to
kerashp's mean and 95% interval over seeds, one verdict per claim, and the
budgets side by side (`kerashp.report.replication`).

    original = Original(
        source="Table 1 of the original write-up",
        budget="50,000 CIFAR-10 images, 10 epochs, ImageNet-pretrained MobileNetV2",
        results={"Baseline": {"best_val_accuracy": 0.8152}},
        claims=(Claim("Baseline is best", "best_val_accuracy", better=("Baseline",)),),
    )

Values are in the units of kerashp's metric (accuracies as fractions: 81.52%
is 0.8152). Declare what the original reported; never tune a setting to match it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence


@dataclasses.dataclass(frozen=True)
class Claim:
    """A claim of the original in words, and the comparison that tests it.

    The claim holds when every configuration in `better` beats every one in
    `worse` on `metric`; an empty side means every other configuration run.

    Attributes:
        text: the claim as the original makes it ("Baseline is best").
        metric: the summary metric compared (a results.csv column).
        better: configurations that should come out ahead.
        worse: configurations that should come out behind.
        higher_is_better: the metric's direction (False for losses, errors).
    """

    text: str
    metric: str
    better: Sequence[str] = ()
    worse: Sequence[str] = ()
    higher_is_better: bool = True

    def __post_init__(self):
        if not self.better and not self.worse:
            raise ValueError(f"claim {self.text!r} names no configuration (better= or worse=)")


@dataclasses.dataclass(frozen=True)
class Reported:
    """One published figure with what it is: a mean, its standard deviation where the
    original gives one, and what it measured ("test accuracy, Table 1").

    A plain float in `Original.results` is a `Reported` without deviation or note.
    """

    value: float
    std: float | None = None
    note: str = ""

    @classmethod
    def of(cls, figure: "float | Reported | Mapping[str, Any]") -> "Reported":
        if isinstance(figure, Reported):
            return figure
        if isinstance(figure, Mapping):
            return cls(float(figure["value"]), figure.get("std"), figure.get("note", ""))
        return cls(float(figure))

    def to_json(self) -> float | dict[str, Any]:
        if self.std is None and not self.note:
            return self.value
        return {"value": self.value, "std": self.std, "note": self.note}


@dataclasses.dataclass(frozen=True)
class Original:
    """What the original reported, for the "Original vs here" section.

    Attributes:
        source: where it reported it (a paper's table, a report's figure).
        budget: the original's data, epochs, model and initialisation, in words.
        results: configuration -> metric -> the original's value (a float, or a
            `Reported` with its standard deviation and what it measured).
        claims: the original's conclusions, each tested across seeds.
        notes: what a reader should weigh: known differences of kerashp's run, what
            the original said beyond its claims.
    """

    source: str
    budget: str
    results: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)
    claims: Sequence[Claim] = ()
    notes: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly form (saved with the report spec)."""
        return {"source": self.source, "budget": self.budget, "notes": self.notes,
                "results": {name: {metric: Reported.of(figure).to_json() for metric, figure in values.items()}
                            for name, values in self.results.items()},
                "claims": [{"text": c.text, "metric": c.metric, "better": list(c.better), "worse": list(c.worse),
                            "higher_is_better": c.higher_is_better} for c in self.claims]}

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> "Original":
        claims = tuple(Claim(c["text"], c["metric"], tuple(c.get("better", ())), tuple(c.get("worse", ())),
                             bool(c.get("higher_is_better", True))) for c in payload.get("claims", ()))
        return cls(payload.get("source", ""), payload.get("budget", ""), dict(payload.get("results", {})),
                   claims, payload.get("notes", ""))
