"""matrix.toml: the typed build matrix (models, loading, consistency checks)."""

from bakery.matrix.load import load_matrix, parse_matrix
from bakery.matrix.models import Image, Matrix

__all__ = ["Image", "Matrix", "load_matrix", "parse_matrix"]
