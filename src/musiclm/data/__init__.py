"""Data: the manifest format, the synthetic corpus engine, loaders and the Dataset."""

from musiclm.data.manifest import ClipRecord, Instrument, Section, read_manifest, write_manifest

__all__ = ["ClipRecord", "Instrument", "Section", "read_manifest", "write_manifest"]
