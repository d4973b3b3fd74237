"""Contract conformance suite for the Hyper3D login API."""

__version__ = "0.1.0"
