"""Loaders that turn real-world corpora into the shared manifest format."""

from musiclm.data.loaders.common import ImportResult
from musiclm.data.loaders.folder import import_folder
from musiclm.data.loaders.musiccaps import import_musiccaps

__all__ = ["ImportResult", "import_folder", "import_musiccaps"]
