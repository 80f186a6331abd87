"""MobileNet v1 (Howard et al., 2017) for 32x32 inputs, as commonly used on CIFAR.

`keras.applications.MobileNet` is the 224x224 ImageNet layout (stride-2 stem,
five stride-2 stages); this is the CIFAR variant: a stride-1 stem keeps the
32x32 resolution through the first blocks.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import keras

from kerashp import frameworks
from kerashp.frameworks import Framework

# (pointwise filters, stride of the depthwise convolution) of blocks 0-12.
BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)


def block_activations(
    default: str = "relu", overrides: Mapping[int, str] | None = None
) -> list[str]:
    """Activation per block: `default` everywhere but the blocks in `overrides`.

    `block_activations("relu", {i: "sigmoid" for i in range(4, 11)})` is the
    activation experiment's sigmoid-in-blocks-4-10 network.
    """
    activations = [default] * len(BLOCKS)
    for index, activation in (overrides or {}).items():
        if not 0 <= index < len(BLOCKS):
            raise ValueError(f"block index {index} outside 0-{len(BLOCKS) - 1}")
        activations[index] = activation
    return activations


def build_mobilenet(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 100,
    *,
    activations: Sequence[str] | str = "relu",
    stem_activation: str = "relu",
    bn_momentum: float | None = None,
    framework: str | Framework = "keras",
    name: str = "mobilenet_cifar",
) -> keras.Model:
    """Builds the CIFAR MobileNet v1.

    Layout: 3x3 convolution, 32 filters, stride 1 (`stem_conv`, `stem_bn`,
    `stem_act`); then 13 depthwise-separable blocks, block i made of
    `block_{i}_depthwise` (3x3, stride from `BLOCKS`), `block_{i}_depthwise_bn`,
    `block_{i}_depthwise_act`, `block_{i}_pointwise` (1x1), `block_{i}_pointwise_bn`,
    `block_{i}_pointwise_act`; global average pooling and a Dense softmax
    (`predictions`). Block 8's depthwise kernel is the variable
    `block_8_depthwise/kernel`.

    Args:
        input_shape: image shape.
        num_classes: softmax units.
        activations: one activation name for all blocks, or one per block (13).
        stem_activation: activation of the stem.
        bn_momentum: batch-norm moving-average momentum in Keras' convention
            (default: the framework's, Keras 0.99, PyTorch 0.9).
        framework: whose defaults the layers use, "keras" or "pytorch"
            (initial weights, batch-norm momentum and epsilon; see
            `kerashp.frameworks`).
        name: model name.
    """
    framework = frameworks.get(framework)
    norm = framework.batch_norm(**({} if bn_momentum is None else {"momentum": bn_momentum}))

    def init(fan_in):
        return {"kernel_initializer": framework.kernel_initializer(fan_in=fan_in)}

    if isinstance(activations, str):
        activations = [activations] * len(BLOCKS)
    if len(activations) != len(BLOCKS):
        raise ValueError(f"need {len(BLOCKS)} block activations, got {len(activations)}")
    layers = keras.layers
    inputs = keras.Input(input_shape)
    x = layers.Conv2D(32, 3, padding="same", use_bias=False, name="stem_conv", **init(9 * input_shape[-1]))(inputs)
    x = layers.BatchNormalization(**norm, name="stem_bn")(x)
    x = layers.Activation(stem_activation, name="stem_act")(x)
    for index, ((filters, stride), activation) in enumerate(zip(BLOCKS, activations)):
        prefix = f"block_{index}"
        channels = int(x.shape[-1])
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{prefix}_depthwise",
                                   depthwise_initializer=framework.kernel_initializer(fan_in=9))(x)
        x = layers.BatchNormalization(**norm, name=f"{prefix}_depthwise_bn")(x)
        x = layers.Activation(activation, name=f"{prefix}_depthwise_act")(x)
        x = layers.Conv2D(filters, 1, use_bias=False, name=f"{prefix}_pointwise", **init(channels))(x)
        x = layers.BatchNormalization(**norm, name=f"{prefix}_pointwise_bn")(x)
        x = layers.Activation(activation, name=f"{prefix}_pointwise_act")(x)
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions",
                           bias_initializer=framework.bias_initializer(fan_in=int(x.shape[-1])),
                           **init(int(x.shape[-1])))(x)
    return keras.Model(inputs, outputs, name=name)
