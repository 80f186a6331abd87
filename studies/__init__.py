"""One module per study; run each with `python -m studies.NAME` (or `kerashp run NAME`).

Each module only declares its study and imports Keras inside the methods
that use it, so `--help` answers before TensorFlow loads; kerashp imports
TensorFlow (quietly, see `kerashp.quiet`) when a run starts.
"""
