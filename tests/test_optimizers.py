"""Optimizer factories: hyperparameters checked and carried; coupled vs decoupled decay."""

import keras
import numpy as np
import pytest

from kerashp.optimizers import TorchSGD, make_adam, make_sgd


def test_adam_carries_its_hyperparameters_and_rejects_impossible_ones():
    optimizer = make_adam(1e-3, beta_1=0.95, beta_2=0.99, epsilon=1e-6)
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.95, 0.99, 1e-6)
    for kwargs, message in [({"beta_1": 1.0}, "beta_1"), ({"beta_2": -0.1}, "beta_2"),
                            ({"epsilon": 0.0}, "epsilon"), ({"learning_rate": -1.0}, "learning_rate")]:
        with pytest.raises(ValueError, match=message):
            make_adam(**kwargs)


def run_steps(optimizer, gradients, w0=2.0):
    variable = keras.Variable(np.array([w0], np.float32))
    optimizer.build([variable])
    for g in gradients:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(np.array([g], np.float32)), variable)])
    return float(keras.ops.convert_to_numpy(variable)[0])


def test_coupled_weight_decay_goes_through_momentum_like_pytorch():
    lr, momentum, wd, grads = 0.1, 0.9, 0.01, [0.5, -0.2, 0.3]
    w, buffer = 2.0, 0.0
    for g in grads:  # PyTorch SGD: d = g + wd*w; buf = m*buf + d; w -= lr*buf (Keras: v = m*v - lr*d)
        d = g + wd * w
        buffer = momentum * buffer - lr * d
        w += buffer
    assert run_steps(TorchSGD(lr, momentum, coupled_weight_decay=wd), grads) == pytest.approx(w, rel=1e-5)


def test_coupled_and_decoupled_differ_with_momentum():
    grads = [0.5, -0.2, 0.3]
    coupled = run_steps(make_sgd(0.1, 0.9, 0.05, framework="pytorch"), grads)
    decoupled = run_steps(make_sgd(0.1, 0.9, 0.05), grads)  # Keras' form, the default
    assert run_steps(make_sgd(0.1, 0.9, 0.05, decoupled=False), grads) == coupled
    assert type(make_sgd(0.1, 0.9, 0.05)) is keras.optimizers.SGD
    assert abs(coupled - decoupled) > 1e-3
    with pytest.raises(ValueError, match="momentum"):
        make_sgd(0.1, 1.5)
