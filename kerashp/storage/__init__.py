"""The study directory on disk: its layout, trial records, rung state, run log
and atomic writes.

Nothing here imports Keras, TensorFlow, KerasTuner or the rest of kerashp
above it (`kerashp.tuning`, `kerashp.report`): the report and `kerashp status`
read a study through this package alone.
"""
