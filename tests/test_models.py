"""MobileNetV2 classifier builder."""

import keras
import numpy as np
import pytest

from kerashp.models import KERAS_BN_MOMENTUM, build_mobilenet_v2_classifier


def batchnorm_layers(model):
    return [l for l in model._flatten_layers() if isinstance(l, keras.layers.BatchNormalization)]


def test_output_shape_and_parameter_count():
    model = build_mobilenet_v2_classifier((32, 32, 3), 10)
    assert model.output_shape == (None, 10)
    base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None)
    assert model.count_params() == base.count_params() + 1280 * 10 + 10
    probabilities = model(np.zeros((2, 32, 32, 3), np.float32))
    np.testing.assert_allclose(np.sum(probabilities, axis=1), 1.0, rtol=1e-5)


def test_bn_momentum_default_and_keras_behaviour():
    assert {l.momentum for l in batchnorm_layers(build_mobilenet_v2_classifier())} == {0.9}
    keras_own = build_mobilenet_v2_classifier(bn_momentum=None)
    assert {l.momentum for l in batchnorm_layers(keras_own)} == {KERAS_BN_MOMENTUM}
    assert len(batchnorm_layers(keras_own)) == 52
    with pytest.raises(ValueError, match="momentum"):
        build_mobilenet_v2_classifier(bn_momentum=1.0)


def test_moving_statistics_update_with_the_configured_momentum():
    model = build_mobilenet_v2_classifier(bn_momentum=0.5)
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    images = np.random.default_rng(0).uniform(size=(8, 32, 32, 3)).astype(np.float32)
    conv_output = keras.Model(model.input, model.get_layer("Conv1").output)(images)
    batch_mean = np.mean(keras.ops.convert_to_numpy(conv_output), axis=(0, 1, 2))
    layer = model.get_layer("bn_Conv1")
    before = keras.ops.convert_to_numpy(layer.moving_mean)
    model.train_on_batch(images, np.zeros(8, np.int32))
    after = keras.ops.convert_to_numpy(layer.moving_mean)
    np.testing.assert_allclose(after, 0.5 * before + 0.5 * batch_mean, rtol=1e-4, atol=1e-5)
