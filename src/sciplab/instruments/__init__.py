"""The instrument library: declarative scoring keys, norms and licences, validated on load."""

from sciplab.instruments.registry import get_instrument, list_instruments, load_definition
from sciplab.instruments.schema import Instrument, Scale

__all__ = ["Instrument", "Scale", "get_instrument", "list_instruments", "load_definition"]
