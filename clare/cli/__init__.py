"""The ``clare`` command line."""
