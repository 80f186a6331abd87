"""The modules one trial's call path crosses (prints, never asserts).

    python benchmarks/call_path.py

Runs the test suite's tiny study for two trials (the first pays for the imports and the
trace) and records, with `sys.setprofile`, every kerashp and callbacks function called
inside `StudyTuner.run_trial` of the second: how many distinct functions, in how many modules,
and the modules by number of functions. Also prints `StudyTuner`'s lines and methods.
"""

from __future__ import annotations

import ast
import collections
import os
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def tuner_size() -> tuple[int, int]:
    tree = ast.parse((ROOT / "kerashp" / "tuning" / "tuner.py").read_text())
    cls = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "StudyTuner")
    methods = [node for node in cls.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return cls.end_lineno - cls.lineno + 1, len(methods)


def main() -> None:
    import kerashp
    from kerashp.tuning import tuner as tuner_module
    from tiny_study import TinyStudy

    ours = (str(ROOT / "kerashp"), str(ROOT / "callbacks"))
    calls: list[set[tuple[str, str]]] = []
    original = tuner_module.StudyTuner.run_trial

    def run_trial(self, trial, *args, **kwargs):
        seen: set[tuple[str, str]] = set()

        def profile(frame, event, arg):
            if event == "call" and frame.f_code.co_filename.startswith(ours):
                seen.add((frame.f_code.co_filename, frame.f_code.co_qualname))

        sys.setprofile(profile)
        try:
            return original(self, trial, *args, **kwargs)
        finally:
            sys.setprofile(None)
            calls.append(seen)

    tuner_module.StudyTuner.run_trial = run_trial
    with tempfile.TemporaryDirectory() as out:
        kerashp.run(TinyStudy, search="random", trials=2, epochs=2, out=out, verbose=0)
    seen = calls[-1]
    modules = collections.Counter(str(pathlib.Path(path).relative_to(ROOT)) for path, _ in seen)
    lines, methods = tuner_size()
    print(f"StudyTuner: {lines} lines, {methods} methods")
    print(f"one trial (the second of two): {len(seen)} distinct kerashp and callbacks functions in {len(modules)} modules")
    for module, count in modules.most_common():
        print(f"  {count:3d}  {module}")


if __name__ == "__main__":
    main()
