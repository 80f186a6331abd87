"""The "Original vs here" section: published numbers beside the means over seeds,
and each claim's verdict (reproduced / not separated / contradicted) from paired seeds."""

import json
import pathlib

import pandas as pd
import pytest

from kerashp.errors import StudyError
from kerashp.original import Claim, Original
from kerashp.report import replication, uncertainty
from kerashp.storage.records import ExecutionRecord, TrialRecord

pytestmark = pytest.mark.fast


def trial(name, values, metric="test_accuracy"):
    executions = [ExecutionRecord(i, pathlib.Path("."), pd.DataFrame(), {metric: v}) for i, v in enumerate(values)]
    return TrialRecord(name, "COMPLETED", {"config": name}, None, executions)


TRIALS = [trial("Baseline", [0.80, 0.82, 0.81]), trial("Low", [0.70, 0.73, 0.71]),
          trial("Close", [0.805, 0.815, 0.815])]


def verdict(claim, trials=TRIALS):
    return replication.claim_verdict(claim, uncertainty.seed_values(trials, claim.metric))


def test_a_claim_separated_by_every_pair_is_reproduced():
    result, detail = verdict(Claim("Baseline beats Low", "test_accuracy", better=("Baseline",), worse=("Low",)))
    # differences 0.10, 0.09, 0.10: mean +9.7 points
    assert result == "reproduced" and "Baseline vs Low +9.7 points" in detail


def test_a_claim_against_a_separated_pair_is_contradicted():
    result, _ = verdict(Claim("Low is best", "test_accuracy", better=("Low",)))
    assert result == "contradicted"


def test_a_pair_within_noise_is_not_separated_with_the_seed_count():
    # Baseline - Close: -0.005, +0.005, -0.005: no separation; Baseline - Low is separated.
    result, detail = verdict(Claim("Baseline is best", "test_accuracy", better=("Baseline",)))
    assert result == "not separated with 3 seeds"
    assert detail.startswith("the means agree in part") and "Baseline vs Close -0.2 points" in detail


def test_one_seed_cannot_separate_and_says_so():
    one = [trial("a", [0.9]), trial("b", [0.5])]
    result, detail = verdict(Claim("a beats b", "test_accuracy", better=("a",)), one)
    assert result == "not separated with 1 seed" and detail.startswith("the means agree with it")


def test_lower_is_better_metrics_and_missing_configurations():
    losses = [trial("a", [1.0, 1.1, 1.05], "final_loss"), trial("b", [2.0, 2.1, 2.2], "final_loss")]
    claim = Claim("a has the lower loss", "final_loss", better=("a",), higher_is_better=False)
    assert verdict(claim, losses)[0] == "reproduced"
    assert verdict(Claim("c beats a", "final_loss", better=("c",), worse=("a",)), losses) == ("not run", "c not run here")
    alone = verdict(Claim("a is best", "final_loss", better=("a",)), losses[:1])
    assert alone == ("not run", "nothing to compare a with here (only a ran)")
    with pytest.raises(ValueError, match="names no configuration"):
        Claim("nothing", "final_loss")


def test_section_shows_published_numbers_beside_the_interval():
    original = Original(source="Table 1", budget="50,000 images, 10 epochs",
                        results={"Baseline": {"test_accuracy": 0.8152}, "Missing": {"test_accuracy": 0.5}},
                        claims=(Claim("Baseline beats Low", "test_accuracy", better=("Baseline",), worse=("Low",)),),
                        notes="trained from scratch here")
    payload = json.loads(json.dumps(original.to_json()))
    assert Original.from_json(payload) == Original.from_json(original.to_json())
    text = replication.replication_markdown(payload, TRIALS, here="sample; 2 epochs", metric_titles={
        "test_accuracy": "test accuracy"})
    # mean 0.81, t interval 0.81 +- 4.3027 * 0.01 / sqrt(3) = [0.7852, 0.8348]
    assert "| Baseline | test accuracy | 81.52% | 81.00% [78.52%, 83.48%] | 3 |" in text
    assert "| Missing | test accuracy | 50.00% | not run | 0 |" in text
    assert "- original: Table 1; its budget: 50,000 images, 10 epochs" in text
    assert "- here: sample; 2 epochs" in text and "- note: trained from scratch here" in text
    assert '"Baseline beats Low" (test accuracy): **reproduced**' in text


ORIGINAL = Original(source="Table 1", budget="50,000 images",
                    results={"Baseline": {"test_accuracy": 0.8152, "final_loss": 0.5}},
                    claims=(Claim("Baseline beats Low", "test_accuracy", better=("Baseline",), worse=("Low",)),))


def test_tables_of_one_run_each_give_the_section_the_records_give():
    records = [trial("Baseline", [0.81]), trial("Low", [0.71])]
    table = pd.DataFrame({"trial": ["0000", "0001", "0002"], "name": ["Baseline", "Low", "Broken"],
                          "status": ["COMPLETED", "COMPLETED", "FAILED"], "runs": [1, 1, 0],
                          "test_accuracy": [0.81, 0.71, None], "epochs": [10, 10, 10], "message": ["", "", "NaN loss"]})
    rebuilt = replication.records_from_tables(table)
    assert [r.name for r in rebuilt] == ["Baseline", "Low"]  # the failed trial is left out
    assert rebuilt[0].executions[0].summary == {"test_accuracy": 0.81}
    expected = replication.replication_markdown(ORIGINAL, records, here="h")
    assert replication.replication_markdown(ORIGINAL, rebuilt, here="h") == expected
    # Baseline ran but results.csv has no final_loss: "not recorded", not "not run".
    assert "| Baseline | final_loss | 0.5 | not recorded | 0 |" in expected


def test_means_of_several_runs_need_each_runs_values():
    table = pd.DataFrame({"name": ["Baseline", "Low"], "runs": [3, 3], "test_accuracy": [0.81, 0.713]})
    with pytest.raises(StudyError, match="no seeds.csv"):
        replication.records_from_tables(table)
    seeds = pd.DataFrame({"metric": ["test_accuracy"] * 6, "name": ["Baseline"] * 3 + ["Low"] * 3,
                          "run": [0, 1, 2] * 2, "value": [0.80, 0.82, 0.81, 0.70, 0.73, 0.71]})
    rebuilt = replication.records_from_tables(table, seeds)
    assert replication.replication_markdown(ORIGINAL, rebuilt, here="h") == replication.replication_markdown(
        ORIGINAL, TRIALS[:2], here="h")


def test_the_section_is_replaced_in_place_or_appended():
    section = "\n## Original vs here\n\n- new\n"
    plain = "# study\n\n| a |\n"
    assert replication.with_section(plain, section) == "# study\n\n| a |\n\n## Original vs here\n\n- new\n"
    once = replication.with_section(plain, section)
    assert replication.with_section(once, section) == once
    middle = "# study\n\n## Original vs here\n\n- old\n- older\n\n## Across seeds\n\ntext\n"
    assert replication.with_section(middle, section) == ("# study\n\n## Original vs here\n\n- new\n\n"
                                                         "## Across seeds\n\ntext\n")
    assert replication.header_value("# s\n- data: local 5000 train\n- budget: 10 epochs\n", "budget") == "10 epochs"


def test_published_figures_with_their_deviation_and_a_verdict_each():
    """A `Reported` figure shows its deviation and what it measured; each row gets a verdict: within
    the original's deviation, within a narrow interval of ours, undecided (a wide one) or outside."""
    from kerashp.original import Reported

    trials = [trial("Baseline", [0.80, 0.82, 0.81]), trial("Low", [0.70, 0.71, 0.705]),
              trial("Wild", [0.10, 0.90, 0.50])]
    original = Original("Table 1", "budget", results={
        "Baseline": {"test_accuracy": Reported(0.78, 0.05, "test accuracy, mean and deviation")},
        "Low": {"test_accuracy": 0.712},
        "Wild": {"test_accuracy": 0.55},
        "Close": {"test_accuracy": Reported(0.95, note="Table 2")},
    })
    payload = json.loads(json.dumps(original.to_json()))  # saved with the report spec and read back
    assert Original.from_json(payload).results["Baseline"]["test_accuracy"]["std"] == 0.05
    text = replication.replication_markdown(payload, [*trials, trial("Close", [0.80, 0.81, 0.82])], here="h")
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert "78.00% ± 5.00% (test accuracy, mean and deviation)" in rows["Baseline"]
    assert rows["Baseline"].endswith("within the original's deviation (+3.00%) |")
    assert rows["Low"].endswith("within our interval (-0.70%) |")  # [69.26%, 71.74%]
    assert "undecided: our interval is" in rows["Wild"]
    assert rows["Close"].endswith("**outside** our interval (-14.00%) |")
