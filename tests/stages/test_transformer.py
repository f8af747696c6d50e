import pytest
import torch

from musiclm.stages.transformer import TokenTransformer, TransformerConfig


def _model(**kw):
    torch.manual_seed(0)
    cfg = dict(vocab_size=50, dim=32, n_layers=2, n_heads=4, max_len=40) | kw
    return TokenTransformer(TransformerConfig(**cfg)).eval()


@pytest.mark.parametrize("streams", [1, 3])
def test_cached_steps_equal_the_full_forward(streams):
    model = _model(n_streams=streams)
    shape = (2, 12) if streams == 1 else (2, streams, 12)
    tokens = torch.randint(0, 50, shape)
    with torch.no_grad():
        full = model(tokens)
        cache = model.new_cache(2)
        parts = [model(tokens[..., :5], cache)]  # a prompt chunk, then one step at a time
        parts += [model(tokens[..., i : i + 1], cache) for i in range(5, 12)]
    stepped = torch.cat(parts, dim=-2)
    assert stepped.shape == full.shape
    torch.testing.assert_close(stepped, full, atol=1e-5, rtol=1e-4)


def test_a_cache_filled_rows_apart_equals_one_filled_at_once():
    """``KVCache.rows``: a view whose writes land in the whole cache (the prefill of a
    big batch goes through in row chunks)."""
    model = _model(n_streams=2)
    tokens = torch.randint(0, 50, (5, 2, 9))
    with torch.no_grad():
        whole = model.new_cache(5)
        model(tokens[..., :8], whole)
        apart = model.new_cache(5)
        for a in range(0, 5, 2):
            part = apart.rows(a, a + 2)
            model(tokens[a : a + 2, :, :8], part)
        apart.length = part.length
        for k, v in zip(whole.k + whole.v, apart.k + apart.v):
            torch.testing.assert_close(k, v, atol=1e-6, rtol=1e-5)
        step = tokens[..., 8:]
        torch.testing.assert_close(model(step, apart), model(step, whole), atol=1e-5, rtol=1e-4)


def test_causal_future_tokens_do_not_change_the_past():
    model = _model()
    a = torch.randint(0, 50, (1, 10))
    b = a.clone()
    b[:, 6:] = (b[:, 6:] + 1) % 50
    with torch.no_grad():
        torch.testing.assert_close(model(a)[:, :6], model(b)[:, :6])


def test_too_long_and_wrong_streams_are_refused():
    model = _model(max_len=8)
    with pytest.raises(ValueError, match="max_len"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="streams"):
        model(torch.zeros(1, 2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="heads"):
        TransformerConfig(vocab_size=4, dim=30, n_heads=4)


def test_learns_a_fixed_sequence():
    model = _model().train()
    seq = torch.arange(1, 17)[None] % 50
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        logits = model(seq[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 50), seq[:, 1:].reshape(-1))
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first
