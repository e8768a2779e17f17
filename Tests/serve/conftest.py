"""The `broker` fixture for these tests; the helpers live in nodes.py."""
from nodes import broker  # noqa: F401
