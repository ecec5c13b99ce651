"""z6's version: a leaf module, so any module can read it without importing the package."""

__all__ = ["__version__"]

__version__ = "0.1.0"
