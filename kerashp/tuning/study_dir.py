"""A study directory's checks before a run: whose it is (`check_owner`), what its trials were
trained with (`check_fingerprint`: the training settings; `check_definition`: the named
configurations, the search space, the model `build` makes and the data), and what
`--overwrite` deletes (`remove_outputs`: only what kerashp wrote)."""

from __future__ import annotations

import gc
import json
import shutil
from typing import Any


from kerashp.errors import StudyError, last_line, option_name, option_switch, option_value
from kerashp.fingerprints import data_fingerprint, describe_change, model_fingerprint
from kerashp.settings import StudySettings
from kerashp.storage import layout, records
from kerashp.storage.layout import FINGERPRINT_FILE, REPORT_FILES
from kerashp.study import Study


def check_fingerprint(project_dir, settings: StudySettings, option_defaults: dict[str, Any] | None = None) -> None:
    """Refuses to resume a project that was made with other training settings.

    Args:
        project_dir: the project directory (`OUT/tuner`).
        settings: this run's settings.
        option_defaults: the study's own options' defaults by name: an option the study
            gained after the project was made counts as its default there.
    """
    path = project_dir / FINGERPRINT_FILE
    if not path.exists():
        return
    saved = records.read_json(path)
    if not isinstance(saved, dict):
        raise StudyError(f"{path} does not hold a study's settings (damaged or replaced); restore it from a copy, "
                         f"or pass {option_name('overwrite')} to start afresh")
    current = json.loads(json.dumps(settings.training_fingerprint()))
    # A key added to the fingerprint after a project was made counts as its default there.
    saved = {key: saved.get(key, StudySettings.default_of(key)) for key in set(saved) | set(current)}
    if isinstance(saved.get("options"), dict):
        saved["options"] = {**json.loads(json.dumps(option_defaults or {}, default=str)), **saved["options"]}
    differing = [
        f"{key} {saved.get(key)!r} there vs {current.get(key)!r} now"
        for key in sorted(saved)
        if saved.get(key) != current.get(key)
    ]
    if differing:
        keep = (f"{option_value('defaults', saved['defaults'])} to go on with its framework defaults, "
                if saved.get("defaults") != current.get("defaults") else "")
        kept = _options_that_keep(saved, current)
        if kept:  # a pruned search made before its defaults became a 3-epoch first rung and the best epoch
            keep += f"{' and '.join(kept)} to go on with its pruning settings, "
        raise StudyError(
            f"{settings.output.out} holds results made with other settings ({'; '.join(differing)}); "
            f"pass {keep}{option_name('overwrite')} to start afresh or {option_name('out')} for a new directory"
        )


def _options_that_keep(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The options that give back a project's first rung and its choice of tested epoch
    where they differ from this run's (a default changed since the project was made)."""
    kept = []
    if saved.get("min_epochs") != current.get("min_epochs") and isinstance(saved.get("min_epochs"), int):
        kept.append(option_value("min_epochs", saved["min_epochs"]))
    if saved.get("restore_best_weights") != current.get("restore_best_weights") \
            and isinstance(saved.get("restore_best_weights"), bool):
        kept.append(option_switch("restore_best_weights", saved["restore_best_weights"]))
    return kept


def study_definition(study: Study) -> dict[str, Any]:
    """What the study declares that decides what its trials train: every named
    configuration's values (of the experiment run) and the search space."""
    space = study.search_space()
    return json.loads(json.dumps({
        "configs": {name: dict(values) for name, values in study.configs.items()},
        "space": {hp.name: hp.get_config() for hp in space.space},
    }, default=str))


def check_definition(project_dir, study: Study) -> dict[str, Any]:
    """Refuses to resume trials whose study has changed under them: a named
    configuration with other values under the same name, another search space, a
    model its `build` now makes otherwise (layers, compile settings), or other data
    (`kerashp.fingerprints`). A configuration added to the study is fine (it is
    trained next). Returns the definition to save (what was there, with the current
    one added)."""
    current = study_definition(study)
    path = project_dir / layout.DEFINITION_FILE
    if not path.exists():
        return {**current, "model": reference_model_fingerprint(study), "data": data_fingerprint(study.data)}
    saved = records.read_json(path)
    if not (isinstance(saved, dict) and isinstance(saved.get("configs", {}), dict)
            and all(isinstance(v, dict) for v in saved.get("configs", {}).values())):
        raise StudyError(f"{path} does not hold a study's definition (damaged or replaced); restore it from a copy, "
                         f"or pass {option_name('overwrite')} to start afresh")
    changed = []
    for name, values in current["configs"].items():
        before = saved.get("configs", {}).get(name)
        if before is not None and before != values:
            keys = sorted(key for key in set(before) | set(values) if before.get(key) != values.get(key))
            changed.append(f"configuration {name!r} ({', '.join(f'{k} {before.get(k)!r} there vs {values.get(k)!r} now' for k in keys)})")
    if saved.get("space") and current["space"] != saved["space"]:
        names = sorted(n for n in set(saved["space"]) | set(current["space"])
                       if saved["space"].get(n) != current["space"].get(n))
        changed.append(f"the search space ({', '.join(names)} declared otherwise)")
    if changed:
        raise StudyError(f"{study.settings.output.out} holds trials of another definition of {study.name}: "
                         f"{'; '.join(changed)}; pass {option_name('overwrite')} to start afresh, "
                         f"{option_name('out')} for a new directory, or give the changed configuration a new name")
    trained_with = {"model": reference_model_fingerprint(study), "data": data_fingerprint(study.data)}
    for kind, label in (("model", f"model {study.name}.build makes"), ("data", "data")):
        before, now = saved.get(kind), trained_with[kind]
        if isinstance(before, dict) and before.get("hash") and now["hash"] and before["hash"] != now["hash"]:
            raise StudyError(f"{study.settings.output.out} holds trials trained with other "
                             f"{describe_change(label, before, trained_with[kind])[4:]}; pass "
                             f"{option_name('overwrite')} to train them again, or {option_name('out')} for a "
                             "new directory")
    return {"configs": {**saved.get("configs", {}), **current["configs"]}, "space": current["space"], **trained_with}


def reference_model_fingerprint(study: Study) -> dict[str, Any]:
    """The fingerprint (`kerashp.fingerprints.model_fingerprint`) of the model the study
    builds for its first named configuration, or for its space's defaults, with `--set`
    applied: an edited `build` makes another one."""
    space = study.search_space().copy()
    values = dict(next(iter(study.configs.values()))) if study.configs else {}
    values.update(study.settings.training.overrides)
    space.values.update(values)
    try:
        model = study.build(space)
        fingerprint = model_fingerprint(model)
    except Exception as error:  # a build that fails (or refuses these values) fails its trials, one by one
        return {"hash": None, "unbuilt": f"{type(error).__name__}: {last_line(str(error))}"}
    del model
    gc.collect()
    return fingerprint


def report_files(study: Study) -> list[str]:
    """The report's files in a study directory (tables, figures, the curves of this study)."""
    return [*REPORT_FILES, *(f"{metric}.png" for metric, _ in study.curves)]


def check_owner(study: Study) -> None:
    """Refuses, before anything is written or deleted, an `--out` that belongs to another
    study, or that holds files where this study writes (a project or TensorBoard
    directory, results.csv, a figure) which kerashp did not write."""
    out = study.settings.output.out
    owner = layout.read_owner(out)
    experiment = study.settings.experiment
    if owner is None:
        clashes = layout.outputs_in_the_way(out, report_files(study))
        if clashes:
            raise StudyError(f"{out} holds {', '.join(clashes)}, which kerashp did not write and a study run there "
                             f"would replace: choose another {option_name('out')} (nothing was changed)")
    elif owner["study"] is not None and (owner["study"], owner.get("experiment")) != (study.name, experiment):
        theirs = owner["study"] + (f" (experiment {owner['experiment']})" if owner.get("experiment") else "")
        ours = study.name + (f" (experiment {experiment})" if experiment else "")
        raise StudyError(f"{out} holds the study {theirs}, not {ours}: choose another {option_name('out')} "
                         f"({option_name('overwrite')} replaces only a study of the same name)")


def remove_outputs(study: Study) -> None:
    """Deletes what kerashp wrote of this study's earlier results (project records and
    trials, TensorBoard runs, tables and figures); any other file in `--out` is kept."""
    out = study.settings.output.out
    for path in layout.kerashp_written(out, report_files(study)):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
