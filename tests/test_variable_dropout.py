"""VariableDropout and optimizers with their momentum in a variable: the same numbers as
Keras' Dropout and the constant-momentum optimizers, and a new value takes effect in a
traced step without tracing it again (what lets the FashionMNIST grid share models)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerashp.models import VariableDropout, build_mlp
from kerashp.optimizers import make_optimizer, momentum_in_variable, momentum_name, set_hyperparameters


def test_variable_dropout_draws_keras_dropouts_masks_and_scale():
    x = np.random.default_rng(0).normal(size=(64, 32)).astype("float32")
    plain, variable = keras.layers.Dropout(0.3, seed=5), VariableDropout(0.3, seed=5)
    for _ in range(3):  # each call draws a new mask from the layer's seed generator
        expected = np.asarray(plain(x, training=True))
        np.testing.assert_array_equal(np.asarray(variable(x, training=True)), expected)
    assert 0.25 < (expected == 0).mean() < 0.35
    np.testing.assert_array_equal(np.asarray(variable(x, training=False)), x)


def test_a_new_rate_takes_effect_in_a_traced_step_without_a_retrace():
    layer = VariableDropout(0.5, seed=1)
    step = tf.function(lambda x: layer(x, training=True))
    x = tf.ones((100, 100))
    assert 0.4 < float(tf.reduce_mean(tf.cast(step(x) == 0, tf.float32))) < 0.6
    layer.rate.assign(0.0)
    np.testing.assert_array_equal(step(x).numpy(), x.numpy())
    layer.rate.assign(0.9)
    dropped = step(x).numpy()
    assert 0.85 < (dropped == 0).mean() < 0.95 and np.allclose(dropped[dropped != 0], 10.0)
    assert step.experimental_get_tracing_count() == 1
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        VariableDropout(1.0)


def test_build_mlp_with_variable_dropout_keeps_the_rates_among_its_weights():
    model = build_mlp((4,), [8, 8], outputs=3, dropout=[0.2, 0.0], variable_dropout=True)
    rates = [w for w in model.weights if w.path.endswith("/rate")]
    assert [round(float(r.numpy()), 6) for r in rates] == [0.2, 0.0]  # a layer even for rate 0
    assert VariableDropout.from_config(model.get_layer("dropout_0").get_config()).get_config()["rate"] == \
        pytest.approx(0.2)


def applying(optimizer, weights):
    return lambda gradient: optimizer.apply([gradient], [weights])


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
@pytest.mark.parametrize("name", ["sgd_momentum", "rmsprop", "adam"])
def test_momentum_in_a_variable_updates_as_the_constant_and_changes_in_place(name, framework):
    attribute = momentum_name(name)
    held = make_optimizer(name, 0.01, 0.5, framework=framework, in_variables=True)
    if not momentum_in_variable(name, framework):  # Keras' SGD and RMSprop: a constant of the step
        assert isinstance(getattr(held, attribute), float)
        return
    assert isinstance(getattr(held, attribute), keras.Variable)
    set_hyperparameters(held, **{attribute: 0.9})
    start = np.linspace(-1, 1, 6).astype("float32").reshape(2, 3)
    gradients = [tf.constant(np.full((2, 3), 0.1 * (k + 1), "float32")) for k in range(3)]
    outcomes, steps = [], []
    for optimizer in (make_optimizer(name, 0.01, 0.9, framework=framework), held):
        weights = keras.Variable(start)
        optimizer.build([weights])  # slots made eagerly, as Keras' fit makes them
        step = tf.function(applying(optimizer, weights))
        for gradient in gradients:
            step(gradient)
        outcomes.append(weights.numpy())
        steps.append(step)
    np.testing.assert_allclose(outcomes[1], outcomes[0], rtol=1e-6, atol=1e-7)
    set_hyperparameters(held, **{attribute: 0.1})
    steps[1](gradients[0])
    assert steps[1].experimental_get_tracing_count() == 1
