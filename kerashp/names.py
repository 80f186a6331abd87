"""Names and defaults of the model builders' and optimizer factories' options.

Importable without Keras, so that a study can offer them as command-line
choices and answer `--help` before TensorFlow loads.
"""

KERAS_BN_MOMENTUM = 0.999  # Keras' MobileNetV2 batch-norm momentum
DEFAULT_BN_MOMENTUM = 0.9  # PyTorch's BatchNorm default (its momentum=0.1)
CNN_FILTER_CHOICES = (64, 128, 256)
CNN_ACTIVATIONS = ("sigmoid", "tanh", "relu")
OUTPUT_HEADS = ("softmax", "linear", "gaussian")
OPTIMIZER_NAMES = ("sgd", "sgd_momentum", "rmsprop", "adam")
ADAM_HYPERPARAMETERS = ("beta_1", "beta_2", "epsilon")
CLASSIFICATION_LOSSES = ("mse", "cross_entropy", "mse_outputs")  # kerashp.losses.classification_loss

# The results table's metric columns unless a study names its own (`Study.table_metrics`).
DEFAULT_METRICS: tuple[tuple[str, str], ...] = (
    ("best_val_accuracy", "best val accuracy"),
    ("best_accuracy", "best train accuracy"),
    ("final_val_loss", "final val loss"),
    ("train_time_s", "training time (s)"),
    ("images_per_second", "images/s"),
)
