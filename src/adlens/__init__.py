"""adlens: the Activation Difference Lens."""

__version__ = "0.1.0"
