"""Sub-commands of ``codispatch``: one module each, each with ``register(subparsers)``.

A module sets ``func`` on its parser (``parser.set_defaults(func=...)``); the function takes the
parsed ``argparse.Namespace`` and returns an exit code.
"""
