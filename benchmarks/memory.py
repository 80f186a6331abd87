"""Resident memory of one process across many trials (prints, never asserts).

    python benchmarks/memory.py --trials 500                    # the FashionMNIST grid, tiny budget
    python benchmarks/memory.py --trials 60 --study tiny        # the test suite's tiny study
    python benchmarks/memory.py --trials 300 --warmup 100 --study tiny --trace 12   # what grows
    python benchmarks/memory.py --trials 1000 --every 50 --warmup 100 --kept-mib 256  # a smaller budget

Runs a random search of `--trials` trials (1 epoch each, `--train-limit` images) in
this process and prints the resident set size (RSS, from /proc/self/statm) and the
bytes malloc'd and not freed (glibc's `mallinfo2`: memory really held, without what the
allocator keeps after a free, which makes the RSS swing by tens of MiB) after every
`--every` trials, and the growth of each per trial after warm-up (the first `--warmup`
trials) as a slope fitted by least squares over every trial's sample. With `--trace N`, the N places
(tracebacks) whose Python allocations grew most between the end of the warm-up and the
last trial (tracemalloc; memory allocated outside Python, such as TensorFlow's, is not seen).
Each line also gives what the compiled models kept between trials count (their share of the
resident memory, bounded by the study's `kept_models_mib`, `--kept-mib` here).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import pathlib
import sys
import tempfile
import time
import tracemalloc

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def heap_mib() -> tuple[float, float] | None:
    """glibc malloc's bytes in MiB (all arenas, mmapped blocks included; `mallinfo2`): those
    handed out and not yet freed (uordblks + hblkhd), and those it has from the system in all
    (arena + hblkhd; the difference is freed memory it keeps for later); None where they cannot
    be read. Unlike the RSS, freed memory does not count in the first: a rise there is memory
    held."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return None
    info = libc.mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20, (info.arena + info.hblkhd) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", choices=("fashion_grid", "tiny"), default="fashion_grid")
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--train-limit", type=int, default=256)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--kept-mib", type=float, default=None,
                        help="the study's kept_models_mib (default: the study's own, 1024)")
    parser.add_argument("--trace", type=int, default=0, metavar="N",
                        help="also print the N places whose Python allocations grew most between the end of "
                             "the warm-up and the last trial (tracemalloc; slows the trials)")
    parser.add_argument("--malloc-trim", action="store_true",
                        help="call glibc's malloc_trim(0) after every trial (hands the free pages inside "
                             "malloc's heaps back to the system): does the resident memory's growth come from them?")
    args = parser.parse_args()

    import numpy as np

    import kerashp
    from kerashp.tuning import tuner as tuner_module

    if args.study == "tiny":
        from tiny_study import TinyStudy as study
        options = {}
    else:
        from studies.fashion_grid import FashionGrid as study
        options = {"data": "sample:fashion_mnist", "train_limit": args.train_limit, "set": {"epochs": 1}}
    if args.kept_mib is not None:
        study = type(study.__name__, (study,), {"kept_models_mib": args.kept_mib, "__module__": study.__module__})
    samples: list[tuple[int, float]] = []
    heap: list[tuple[float, float] | None] = []
    original = tuner_module.StudyTuner.on_trial_end

    def on_trial_end(self, trial):
        original(self, trial)
        if args.malloc_trim:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        done = len(samples) + 1
        samples.append((done, rss_mib()))
        heap.append(heap_mib())
        if args.trace and done == args.warmup:
            snapshots.append(tracemalloc.take_snapshot())
        if args.trace and done == args.trials:
            snapshots.append(tracemalloc.take_snapshot())
        if done % args.every == 0:
            held = (f", malloc'd {heap[-1][0]:8.1f} MiB of {heap[-1][1]:8.1f} from the system"
                    if heap[-1] is not None else "")
            print(f"trial {done:5d}: RSS {samples[-1][1]:8.1f} MiB{held}, kept models "
                  f"{self.runs.kept_bytes / 2**20:6.1f} MiB", flush=True)

    tuner_module.StudyTuner.on_trial_end = on_trial_end
    snapshots: list = []
    if args.trace:
        tracemalloc.start(8)
    started = time.time()
    with tempfile.TemporaryDirectory() as out:
        kerashp.run(study, search="random", trials=args.trials, epochs=1, out=out, verbose=0, **options)
    after = [(n, rss) for n, rss in samples if n > args.warmup]
    if len(after) >= 2:
        slope = np.polyfit([n for n, _ in after], [rss for _, rss in after], 1)[0]
        print(f"{args.study}: {len(samples)} trials in {time.time() - started:.0f} s; RSS {samples[0][1]:.0f} MiB "
              f"after trial 1, {after[0][1]:.0f} after trial {after[0][0]}, {after[-1][1]:.0f} after trial "
              f"{after[-1][0]}; growth after warm-up {slope * 1024:.0f} KiB per trial")
        held = [(n, value) for (n, _), value in zip(samples, heap) if n > args.warmup and value is not None]
        for index, what in enumerate(("malloc'd and not freed", "malloc's memory from the system")):
            if len(held) >= 2:
                slope = np.polyfit([n for n, _ in held], [value[index] for _, value in held], 1)[0]
                print(f"{what}: {held[0][1][index]:.0f} MiB after trial {held[0][0]}, {held[-1][1][index]:.0f} "
                      f"after trial {held[-1][0]}; growth after warm-up {slope * 1024:.0f} KiB per trial")

    if len(snapshots) == 2:
        growth = snapshots[1].compare_to(snapshots[0], "traceback")
        total = sum(stat.size_diff for stat in growth)
        print(f"Python allocations grew {total / 2**10 / max(args.trials - args.warmup, 1):.1f} KiB per trial "
              f"between trial {args.warmup} and trial {args.trials}; the largest:")
        for stat in growth[:args.trace]:
            frames = [f"{pathlib.Path(frame.filename).name}:{frame.lineno}"
                      for frame in reversed(stat.traceback)]  # the allocation first, then its callers
            print(f"  {stat.size_diff / 2**10:9.1f} KiB in {stat.count_diff:+d} blocks  {' <- '.join(frames[:4])}")


if __name__ == "__main__":
    main()
