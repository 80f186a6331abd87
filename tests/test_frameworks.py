"""Framework defaults (kerashp/frameworks.py): each PyTorch and Keras default
checked against its formula, and the studies mirrored from PyTorch using them."""

import math

import keras
import numpy as np
import pytest

from kerashp import frameworks
from kerashp.models import build_cnn, build_mlp
from kerashp.models.mobilenet import build_mobilenet
from kerashp.optimizers import TorchAdam, TorchRMSprop, TorchSGD, make_optimizer, make_sgd

pytestmark = pytest.mark.fast


def kernel(model, name):
    return keras.ops.convert_to_numpy(model.get_layer(name).kernel)


def bias(model, name):
    return keras.ops.convert_to_numpy(model.get_layer(name).bias)


def test_pytorch_default_dense_weights_and_biases_are_uniform_in_one_over_sqrt_fan_in():
    keras.utils.set_random_seed(0)
    model = build_mlp((784,), [1024, 256], outputs=10, framework="pytorch")
    for name, fan_in in (("hidden_0", 784), ("hidden_1", 1024), ("predictions", 256)):
        bound = 1 / math.sqrt(fan_in)
        for values in (kernel(model, name), bias(model, name)):
            assert np.abs(values).max() <= bound
            # U(-b, b) has standard deviation b / sqrt(3)
            assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.1 if values.ndim == 1 else 0.02)


def test_keras_defaults_are_glorot_weights_and_zero_biases():
    keras.utils.set_random_seed(0)
    model = build_mlp((784,), [1024], outputs=10)
    assert kernel(model, "hidden_0").std() == pytest.approx(math.sqrt(2 / (784 + 1024)), rel=0.02)
    assert not bias(model, "hidden_0").any() and not bias(model, "predictions").any()


@pytest.mark.parametrize("framework, stddev", [("pytorch", 1.0), ("keras", 0.05)])
def test_random_normal_is_the_frameworks_normal(framework, stddev):
    keras.utils.set_random_seed(0)
    model = build_mlp((784,), [1024], outputs=10, kernel_initializer="random_normal", framework=framework)
    values = kernel(model, "hidden_0")
    assert values.std() == pytest.approx(stddev, rel=0.01) and abs(values.mean()) < 0.01 * stddev


def test_named_initialisers_follow_their_formula_in_both_frameworks():
    keras.utils.set_random_seed(0)
    for framework in frameworks.FRAMEWORKS:
        xavier = kernel(build_mlp((784,), [1024], outputs=10, kernel_initializer="xavier_uniform",
                                  framework=framework), "hidden_0")
        kaiming = kernel(build_mlp((784,), [1024], outputs=10, kernel_initializer="kaiming_uniform",
                                   framework=framework), "hidden_0")
        normal = kernel(build_mlp((784,), [1024], outputs=10, kernel_initializer="kaiming_normal",
                                  framework=framework), "hidden_0")
        assert xavier.std() == pytest.approx(math.sqrt(2 / (784 + 1024)), rel=0.02)
        assert kaiming.std() == pytest.approx(math.sqrt(2 / 784), rel=0.02)
        assert normal.std() == pytest.approx(math.sqrt(2 / 784), rel=0.03)
        # PyTorch's kaiming_normal_ is untruncated; Keras' he_normal is truncated at 2 sigma
        truncated = np.abs(normal).max() <= 2.01 * math.sqrt(2 / 784) / 0.8796
        assert truncated == (framework == "keras")


def test_convolutions_use_kernel_height_width_channels_as_fan_in():
    keras.utils.set_random_seed(0)
    model = build_cnn((16, 16, 3), 10, filters=64, num_layers=2, framework="pytorch")
    assert np.abs(kernel(model, "conv_0")).max() <= 1 / math.sqrt(27)
    assert kernel(model, "conv_1").std() == pytest.approx(1 / math.sqrt(9 * 64) / math.sqrt(3), rel=0.03)
    assert bias(model, "conv_1").std() > 0
    mobilenet = build_mobilenet((32, 32, 3), 10, framework="pytorch")
    depthwise = keras.ops.convert_to_numpy(mobilenet.get_layer("block_3_depthwise").kernel)
    assert np.abs(depthwise).max() <= 1 / 3 and depthwise.std() == pytest.approx(1 / 3 / math.sqrt(3), rel=0.05)


@pytest.mark.parametrize("framework, momentum, epsilon", [("pytorch", 0.9, 1e-5), ("keras", 0.99, 1e-3)])
def test_batch_norm_constants(framework, momentum, epsilon):
    for model in (build_mlp((8,), [4], outputs=2, batch_norm=True, framework=framework),
                  build_cnn((8, 8, 1), 2, filters=4, num_layers=1, batch_norm=True, framework=framework)):
        layer = model.get_layer("bn_0")
        assert (layer.momentum, layer.epsilon) == (momentum, epsilon)
    layer = build_mobilenet((32, 32, 3), 10, framework=framework).get_layer("stem_bn")
    assert (layer.momentum, layer.epsilon) == (momentum, epsilon)


def run(optimizer, gradients, start=1.0, rates=None):
    """The variable after applying `gradients` one step each (learning rate per step from `rates`)."""
    variable = keras.Variable(np.array([start], dtype="float32"))
    for step, gradient in enumerate(gradients):
        if rates is not None:
            optimizer.learning_rate.assign(rates[step])
        optimizer.apply([keras.ops.convert_to_tensor(np.array([gradient], dtype="float32"))], [variable])
    return float(keras.ops.convert_to_numpy(variable)[0])


GRADIENTS = [0.5, -1.5, 2.0, 0.25]


def test_torch_adam_adds_epsilon_after_the_bias_correction():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 0.5  # a large epsilon makes the difference visible
    w, m, v = 1.0, 0.0, 0.0
    for t, g in enumerate(GRADIENTS, start=1):  # torch.optim.Adam's documented update
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr * (m / (1 - b1 ** t)) / (math.sqrt(v / (1 - b2 ** t)) + eps)
    assert run(TorchAdam(lr, b1, b2, epsilon=eps), GRADIENTS) == pytest.approx(w, rel=1e-5)
    assert run(keras.optimizers.Adam(lr, b1, b2, epsilon=eps), GRADIENTS) != pytest.approx(w, rel=1e-3)
    adam = make_optimizer("adam", 1e-3, 0.9, framework="pytorch")
    assert isinstance(adam, TorchAdam) and adam.epsilon == 1e-8
    assert make_optimizer("adam", 1e-3, 0.9).epsilon == 1e-7


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_torch_rmsprop_step_is_the_documented_update(momentum):
    lr, alpha, eps = 0.01, 0.99, 1e-8
    w, s, b = 1.0, 0.0, 0.0
    for g in GRADIENTS:  # torch.optim.RMSprop's documented update (not centered)
        s = alpha * s + (1 - alpha) * g * g
        scaled = g / (math.sqrt(s) + eps)
        b = momentum * b + scaled
        w -= lr * (b if momentum else scaled)
    optimizer = make_optimizer("rmsprop", lr, momentum, framework="pytorch")
    assert isinstance(optimizer, TorchRMSprop) and (optimizer.rho, optimizer.epsilon) == (0.99, 1e-8)
    assert run(optimizer, GRADIENTS) == pytest.approx(w, rel=1e-5)
    keras_rmsprop = make_optimizer("rmsprop", lr, momentum)
    assert (keras_rmsprop.rho, keras_rmsprop.epsilon) == (0.9, 1e-7)
    assert run(keras_rmsprop, GRADIENTS) != pytest.approx(w, rel=1e-3)


def test_torch_sgd_keeps_gradients_in_its_buffer_and_couples_weight_decay():
    lr_steps, mu, wd = [0.1, 0.1, 0.01, 0.01], 0.9, 0.05
    w, b = 1.0, 0.0
    for g, lr in zip(GRADIENTS, lr_steps):  # torch.optim.SGD: d = g + wd w; b = mu b + d; w -= lr b
        b = mu * b + g + wd * w
        w -= lr * b
    assert run(make_sgd(0.1, mu, wd, framework="pytorch"), GRADIENTS, rates=lr_steps) == pytest.approx(w, rel=1e-5)
    # at a constant rate PyTorch's and Keras' momentum forms agree
    assert run(TorchSGD(0.1, mu), GRADIENTS) == pytest.approx(run(keras.optimizers.SGD(0.1, mu), GRADIENTS), rel=1e-5)
    # after a rate change they do not (Keras' velocity keeps the old steps)
    assert run(TorchSGD(0.1, mu), GRADIENTS, rates=lr_steps) != pytest.approx(
        run(keras.optimizers.SGD(0.1, mu), GRADIENTS, rates=lr_steps), rel=1e-3)
    decoupled = make_sgd(0.1, mu, wd)  # Keras: decoupled weight decay
    assert type(decoupled) is keras.optimizers.SGD and decoupled.weight_decay == wd


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="keras, pytorch"):
        frameworks.get("jax")
    with pytest.raises(ValueError, match="initializer must be one of"):
        build_mlp((4,), [2], outputs=2, kernel_initializer="orthogonal_ish")


def test_studies_mirrored_from_pytorch_use_its_defaults_unless_told(tmp_path):
    from kerashp import StudySettings, StudyError
    from kerashp.storage.layout import FINGERPRINT_FILE
    from kerashp.tuning.study_dir import check_fingerprint
    from studies.adam_betas import AdamBetas
    from studies.fashion_grid import FashionGrid
    from studies.house_prices import HousePrices
    from studies.mobilenet_cifar100 import MobileNetCifar100
    from studies.usps_cnn import UspsCnn

    for study in (FashionGrid, UspsCnn, HousePrices, MobileNetCifar100):
        assert StudySettings.for_study(study).training.defaults == "pytorch"
    assert StudySettings.for_study(AdamBetas).training.defaults == "keras"
    assert StudySettings.for_study(FashionGrid, defaults="keras").training.defaults == "keras"
    with pytest.raises(StudyError, match="keras, pytorch"):
        StudySettings.for_study(FashionGrid, defaults="jax")
    # A project made before the setting existed trained with Keras' defaults.
    settings = StudySettings.for_study(UspsCnn, out=tmp_path)
    old = {key: value for key, value in settings.training_fingerprint().items() if key != "defaults"}
    (tmp_path / FINGERPRINT_FILE).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / FINGERPRINT_FILE).write_text(__import__("json").dumps(old))
    with pytest.raises(StudyError, match=r"defaults 'keras' there vs 'pytorch' now.*(defaults='keras'|--defaults keras) to go on"):
        check_fingerprint(tmp_path, settings)
    check_fingerprint(tmp_path, StudySettings.for_study(UspsCnn, out=tmp_path, defaults="keras"))
