"""The CIFAR MobileNet v1 builder."""

import keras
import numpy as np

from kerashp.models.mobilenet import BLOCKS, block_activations, build_mobilenet


def expected_parameters(num_classes):
    """Counted by hand from the layout: convolutions without bias, BN with 4 values per channel."""
    total = 3 * 3 * 3 * 32 + 4 * 32  # stem
    channels = 32
    for filters, _ in BLOCKS:
        total += 3 * 3 * channels + 4 * channels  # depthwise + BN
        total += channels * filters + 4 * filters  # pointwise + BN
        channels = filters
    return total + channels * num_classes + num_classes


def test_parameter_count_and_output_shape_for_100_classes():
    model = build_mobilenet(num_classes=100)
    assert model.count_params() == expected_parameters(100) == 3_331_364
    assert model.output_shape == (None, 100)
    assert model.get_layer("block_12_pointwise").output.shape[1:] == (2, 2, 1024)
    assert model.get_layer("block_0_pointwise").output.shape[1:] == (32, 32, 64)
    assert model.get_layer("block_8_depthwise").kernel.path == "block_8_depthwise/kernel"
    out = model(np.zeros((2, 32, 32, 3), np.float32))
    np.testing.assert_allclose(np.sum(out, axis=1), 1.0, rtol=1e-5)


def test_activation_override_lands_in_blocks_4_to_10_only():
    activations = block_activations("relu", {i: "sigmoid" for i in range(4, 11)})
    model = build_mobilenet(num_classes=10, activations=activations)
    for index in range(13):
        expected = keras.activations.sigmoid if 4 <= index <= 10 else keras.activations.relu
        for part in ("depthwise", "pointwise"):
            assert model.get_layer(f"block_{index}_{part}_act").activation is expected
    assert model.get_layer("stem_act").activation is keras.activations.relu
