"""The pieces every training loop here is made of: the trainer, the race and fine-tuning.

- :mod:`~resnet_core.engine.schedule`: learning-rate schedules
- :mod:`~resnet_core.engine.batches`: augmented mini-batches drawn on the device
- :mod:`~resnet_core.engine.step`: one optimisation step (autocast, grad scaler), gradient norms
- :mod:`~resnet_core.engine.divergence`: when a loss has diverged
- :mod:`~resnet_core.engine.evaluate`: loss and accuracy on held-out images
- :mod:`~resnet_core.engine.layers`: the weighted layers the paper counts
- :mod:`~resnet_core.engine.batchnorm`: BatchNorm statistics re-estimated after a short run
- :mod:`~resnet_core.engine.outcome`: how a finished run ended (learned, learned nothing, diverged)
- :mod:`~resnet_core.engine.runner`: what a loop object is given (config, callback, stop event, data, clock)

Each loop composes them in its own order; none of them knows about a config class.
"""
