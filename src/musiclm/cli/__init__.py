"""The ``musiclm`` command line: a thin layer over the Python API."""
