"""The ``mellow`` command line: :mod:`~mellow.cli.main` (the parser and ``main``), one module per command
(``generate``, ``batch``, ``scan``, ``download``, ``convert``, ``info``) and the argument helpers they share
(:mod:`~mellow.cli.common`).  Nothing else in ``mellow`` imports this package.
"""
