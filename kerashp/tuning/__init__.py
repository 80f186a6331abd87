"""KerasTuner integration: oracles (`oracle`, `pruning`), the tuner (`tuner`), the
run of a study end to end (`runner`), packing and checkpoints.

Import the modules themselves (`from kerashp.tuning.runner import run_study`):
this package imports nothing, so that `kerashp.storage` and `kerashp.report`
can be used without KerasTuner.
"""
