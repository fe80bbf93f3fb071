"""``python -m resnet_core``: see :mod:`resnet_core.cli`."""

from resnet_core.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
