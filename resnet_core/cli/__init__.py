"""The command line, ``python -m resnet_core`` (also ``resnet-core``): one module per command group.

- :mod:`~resnet_core.cli.main`: the parser and ``main()``, which dispatches to the commands;
- :mod:`~resnet_core.cli.train`: ``train`` (one process or under torchrun);
- :mod:`~resnet_core.cli.experiment`: ``experiment`` and its degradation race;
- :mod:`~resnet_core.cli.insight`: the why-it-works experiments (gradient-flow, shattered, lesion);
- :mod:`~resnet_core.cli.finetune`: ``finetune``;
- :mod:`~resnet_core.cli.machine`: ``info`` and ``prefetch``, and the machine record results carry;
- :mod:`~resnet_core.cli.common`: what they share (argument types, stderr, JSON, Ctrl-C, exit codes).

Nothing is imported here, so that ``import resnet_core.cli.common`` costs nothing more.
"""
