"""The command line: ``amtterm.cli.entry.main`` is the ``amtterm`` command (see ``main.py``)."""
