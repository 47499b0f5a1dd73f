"""SAKA, a community engagement currency for Django."""

__version__ = "0.1.0"
