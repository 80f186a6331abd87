"""The docs: README short and runnable, the CLI reference current, the site builds with
its links checked, and the project speaks only of itself."""

import os
import re
import subprocess
import sys

import pandas as pd
import pytest

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))


def test_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) < 150


def test_cli_reference_is_current():
    import cli_reference

    assert (ROOT / "docs" / "cli.md").read_text() == cli_reference.render(), \
        "docs/cli.md is out of date: run python scripts/cli_reference.py"


def test_docs_site_builds_with_links_checked(tmp_path):
    pytest.importorskip("mkdocs")
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (tmp_path / "site" / "writing-a-study" / "index.html").exists()


def test_readme_links_exist():
    for target in re.findall(r"\]\(([^)#\s]+)", (ROOT / "README.md").read_text()):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_the_project_speaks_only_of_itself():
    words = re.compile("|".join(["sess" + "ion [0-9]", "this sess" + "ion", "device to" + "ol", "not dr" + "awn(?!:)",
                                 "lent to th" + "is", "project br" + "ief"]), re.IGNORECASE)
    tracked = subprocess.run(["git", "ls-files", "*.md", "*.py"], cwd=ROOT, capture_output=True, text=True).stdout
    hits = [f"{name}:{number}" for name in tracked.split() if (ROOT / name).exists()
            for number, line in enumerate((ROOT / name).read_text(errors="replace").splitlines(), 1)
            if words.search(line)]
    assert not hits, hits


def readme_blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_the_readme_study_runs_from_a_file_and_from_python(tmp_path):
    (tmp_path / "my_study.py").write_text(readme_blocks("python")[0])
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "my_study.py", "--seeds", "2", "--epochs", "1", "--train-limit", "500", "--verbose", "0"]
    out = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environment, timeout=600)
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(tmp_path / "artifacts" / "widths" / "results.csv")
    assert list(table["name"]) == ["narrow", "wide"] and (table["runs"] == 2).all()
    status = subprocess.run([sys.executable, "-m", "kerashp.cli", "status", "artifacts/widths"], cwd=tmp_path,
                            capture_output=True, text=True, env=environment)
    assert "2 finished" in status.stdout, status.stderr
    snippet = readme_blocks("python")[1].replace("kerashp.run(Widths, seeds=3)",
                                                 "kerashp.run(Widths, seeds=2, epochs=1, train_limit=500, verbose=0)")
    code = ("import sys; sys.argv = ['x']\nfrom my_study import Widths\nimport kerashp\n" + snippet
            + "\nfrom matplotlib.figure import Figure"
            + "\nprint(len(results.table), isinstance(results.figures()['val_accuracy'], Figure))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env=environment, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["2", "True"]
