"""The import graph: storage imports nothing above it; the report reads storage only."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def imported_modules(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def imports_of(package: str) -> dict[str, set[str]]:
    return {str(path.relative_to(ROOT)): imported_modules(path) for path in (ROOT / package).rglob("*.py")}


def test_storage_imports_no_other_part_of_kerashp_nor_keras():
    for module, names in imports_of("kerashp/storage").items():
        above = {n for n in names if n.startswith("kerashp.") and not n.startswith(("kerashp.storage", "kerashp.errors"))}
        heavy = {n for n in names if n.split(".")[0] in ("keras", "keras_tuner", "tensorflow")}
        assert not above and not heavy, (module, above | heavy)


def test_report_reads_storage_and_never_tuning():
    for module, names in imports_of("kerashp/report").items():
        wrong = {n for n in names if n.startswith(("kerashp.tuning", "kerashp.api", "kerashp.cli", "kerashp.study"))
                 or n.split(".")[0] in ("keras", "keras_tuner", "tensorflow")}
        assert not wrong, (module, wrong)


def test_only_storage_spells_the_run_directorys_names():
    # One door to a study directory: trial, run and checkpoint directories and the checkpoint's
    # manifest are named in kerashp/storage/ only (KerasTuner's own names are reached through compat).
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1] / "kerashp"
    spelled = re.compile(r"""["']trial_\{|f["']trial_|["']execution_|["']backup["']|training_metadata\.json|glob\(["']trial_""")
    offenders = [f"{path.relative_to(root)}:{number}" for path in root.rglob("*.py")
                 if "storage" not in path.parts and path.name != "compat.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1) if spelled.search(line)]
    assert not offenders, offenders
