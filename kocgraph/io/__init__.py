"""Readers and writers: forwarding logs, adoption logs, and the native on-disk format."""

from .adoptions import read_adoptions
from .native import read, write
from .readers import read_log

__all__ = ["read_log", "read_adoptions", "read", "write"]
