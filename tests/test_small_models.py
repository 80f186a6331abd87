"""CNN and MLP builders, the Gaussian NLL and one-hot MSE losses, penalties, optimizers by name."""

import math

import keras
import numpy as np
import pytest

from kerashp.losses import classification_loss, gaussian_nll, make_penalty, sparse_categorical_mse
from kerashp.models import build_cnn, build_mlp
from kerashp.optimizers import make_optimizer


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize("num_layers", [1, 2, 3, 4])
def test_cnn_has_one_block_per_layer_and_ends_in_softmax(num_layers):
    model = build_cnn((16, 16, 1), 10, filters=[64, 128, 256, 64][:num_layers], num_layers=num_layers,
                      activation="tanh", dropout=0.1)
    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 128, 256, 64][:num_layers]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert [l.activation.__name__ for l in model.layers if isinstance(l, keras.layers.Activation)] == ["tanh"] * num_layers
    assert len([l for l in model.layers if isinstance(l, keras.layers.MaxPooling2D)]) == num_layers
    assert model.output_shape == (None, 10)
    assert model.layers[-1].activation.__name__ == "softmax"


def test_cnn_batch_norm_sits_between_convolution_and_activation_and_dropout_after_pooling():
    model = build_cnn((16, 16, 1), 10, num_layers=2, batch_norm=True, dropout=0.1)
    assert layer_types(model)[1:6] == ["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D", "Dropout"]
    assert not model.get_layer("conv_0").use_bias  # BN's offset replaces the bias
    without = build_cnn((16, 16, 1), 10, num_layers=2, batch_norm=False, dropout=0.0)
    assert "BatchNormalization" not in layer_types(without) and "Dropout" not in layer_types(without)


def test_cnn_rejects_impossible_settings():
    with pytest.raises(ValueError, match="num_layers"):
        build_cnn((16, 16, 1), 10, num_layers=0)
    with pytest.raises(ValueError, match="dropout"):
        build_cnn((16, 16, 1), 10, dropout=1.5)


def test_mlp_layers_init_bn_and_per_layer_dropout():
    model = build_mlp((28, 28, 1), [1024, 256], outputs=10, dropout=[0.5, 0.2], batch_norm=True,
                      kernel_initializer="he_uniform")
    assert layer_types(model) == ["InputLayer", "Flatten", "Dense", "BatchNormalization", "Activation", "Dropout",
                                  "Dense", "BatchNormalization", "Activation", "Dropout", "Dense"]
    assert [model.get_layer(f"dropout_{i}").rate for i in range(2)] == [0.5, 0.2]
    assert isinstance(model.get_layer("hidden_0").kernel_initializer, keras.initializers.HeUniform)
    assert model.count_params() == (784 * 1024 + 4 * 1024) + (1024 * 256 + 4 * 256) + (256 * 10 + 10)
    assert model.output_shape == (None, 10)


def test_mlp_heads_and_penalties():
    gaussian = build_mlp((4,), [8], outputs=1, head="gaussian")
    assert gaussian.output_shape == (None, 2) and gaussian.layers[-1].activation.__name__ == "linear"
    penalised = build_mlp((4,), [8, 8], outputs=3, kernel_regularizer=make_penalty("l2", 1e-2))
    penalised(np.ones((1, 4), np.float32))
    assert len(penalised.losses) == 3  # two hidden kernels and the head
    assert make_penalty("none", 1e-3) is None
    with pytest.raises(ValueError, match="dropout"):
        build_mlp((4,), [8, 8], outputs=3, dropout=[0.1])


def test_gaussian_nll_matches_the_closed_form():
    y = np.array([1.0, -2.0, 0.5], np.float32)
    mean = np.array([0.5, -1.0, 0.5], np.float32)
    log_variance = np.array([0.0, 1.0, -2.0], np.float32)
    expected = 0.5 * (log_variance + (y - mean) ** 2 / np.exp(log_variance) + math.log(2 * math.pi))
    got = keras.ops.convert_to_numpy(gaussian_nll(y, np.stack([mean, log_variance], axis=1)))
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_gaussian_nll_with_unit_variance_is_half_mse_plus_a_constant():
    rng = np.random.default_rng(0)
    y, mean = rng.normal(size=50).astype(np.float32), rng.normal(size=50).astype(np.float32)
    nll = keras.ops.convert_to_numpy(gaussian_nll(y, np.stack([mean, np.zeros(50, np.float32)], axis=1)))
    np.testing.assert_allclose(nll, 0.5 * (y - mean) ** 2 + 0.5 * math.log(2 * math.pi), rtol=1e-5)


def test_sparse_categorical_mse_is_mse_against_one_hot():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], np.float32)
    labels = np.array([0, 1])
    one_hot = np.eye(3, dtype=np.float32)[labels]
    got = keras.ops.convert_to_numpy(sparse_categorical_mse(labels, probabilities))
    np.testing.assert_allclose(got, ((probabilities - one_hot) ** 2).mean(axis=1), rtol=1e-6)
    assert classification_loss("mse") is sparse_categorical_mse
    with pytest.raises(ValueError, match="loss"):
        classification_loss("hinge")


def test_mse_on_raw_outputs_builds_a_linear_head():
    """"mse_outputs": PyTorch's MSELoss on a Linear output (no softmax), the same loss function."""
    from kerashp.losses import output_activation
    from kerashp.models import build_cnn

    assert classification_loss("mse_outputs") is sparse_categorical_mse
    assert (output_activation("mse_outputs"), output_activation("mse"), output_activation("cross_entropy")) == (
        "linear", "softmax", "softmax")
    linear = build_cnn((16, 16, 1), 10, num_layers=1, output_activation=output_activation("mse_outputs"))
    outputs = keras.ops.convert_to_numpy(linear(np.random.default_rng(0).normal(size=(4, 16, 16, 1))))
    assert linear.get_layer("predictions").activation.__name__ == "linear"
    assert not np.allclose(outputs.sum(axis=1), 1.0)  # raw outputs, not probabilities
    softmax = build_cnn((16, 16, 1), 10, num_layers=1)
    assert softmax.get_layer("predictions").activation.__name__ == "softmax"


def test_optimizers_by_name_carry_their_settings():
    assert make_optimizer("sgd", 0.1, momentum=0.9).momentum == 0.0
    assert make_optimizer("sgd_momentum", 0.1, momentum=0.95).momentum == 0.95
    assert make_optimizer("rmsprop", 1e-3, momentum=0.9).momentum == 0.9
    assert make_optimizer("adam", 1e-3, momentum=0.95).beta_1 == 0.95
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer("lbfgs", 0.1)
    with pytest.raises(ValueError, match="momentum"):
        make_optimizer("sgd_momentum", 0.1, momentum=1.0)
