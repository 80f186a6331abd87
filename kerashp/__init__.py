"""kerashp: resumable hyperparameter studies with Keras 3 and KerasTuner."""

__version__ = "0.1.0"
