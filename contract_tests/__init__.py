"""Contract conformance suite for the Hyper3D login API.

PYTEST_DONT_REWRITE: `python -m contract_tests` imports this package before pytest starts; the marker keeps pytest
from warning that it cannot rewrite the asserts of a module already imported (this one has none).
"""

__version__ = "0.1.0"  # the one place: pyproject.toml reads it (tool.setuptools.dynamic)
