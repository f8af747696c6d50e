import pytest
import torch

from musiclm.stages.config import StageConfig
from musiclm.stages.layout import LayoutConfig
from musiclm.stages.lm import StageLM
from musiclm.stages.sampling import SamplingOptions

SMALL = dict(
    mulan_levels=3,
    mulan_codebook=8,
    semantic_codebook=16,
    acoustic_codebook=8,
    coarse_levels=2,
    fine_levels=3,
    semantic_rate=5,
    acoustic_rate=10,
    max_seconds=8,
)


def _stage(kind, pattern="delay", **kw):
    torch.manual_seed(0)
    layout = LayoutConfig(kind=kind, pattern=pattern, **SMALL)
    cfg = StageConfig(layout=layout, dim=32, n_layers=2, n_heads=2, window_seconds=2.0, **kw)
    return StageLM(cfg).eval()


def _inputs(stage, b=2):
    lay = stage.layout
    mulan = torch.randint(0, lay.mulan_codebook, (b, lay.mulan_levels))
    secs = torch.tensor([0, 3])[:b], torch.tensor([4, 6])[:b]
    frames = stage.config.target_frames
    if lay.kind == "semantic":
        target, context = torch.randint(0, 16, (b, frames)), None
    else:
        target = torch.randint(0, 8, (b, lay.target_levels, frames))
        context = (
            torch.randint(0, 16, (b, 10))
            if lay.kind == "coarse"
            else torch.randint(0, 8, (b, lay.coarse_levels, frames))
        )
    prefix = lay.prefix(mulan=mulan, start_s=secs[0], total_s=secs[1], context=context)
    drop = torch.ones(b, dtype=torch.bool)
    uncond = lay.prefix(mulan=mulan, start_s=secs[0], total_s=secs[1], context=context, drop=drop)
    return prefix, uncond, target


CASES = [
    ("semantic", "delay"),
    ("coarse", "delay"),
    ("coarse", "flat"),
    ("fine", "delay"),
    ("fine", "flat"),
]


@pytest.mark.parametrize("kind,pattern", CASES)
def test_prefix_length_and_generation_shapes(kind, pattern):
    stage = _stage(kind, pattern)
    prefix, uncond, target = _inputs(stage)
    assert prefix.shape == (2, stage.layout.n_streams, stage.config.prefix_len)
    out = stage.generate(
        prefix,
        stage.config.target_frames,
        SamplingOptions(cfg=3.0),
        uncond_prefix=uncond,
        generator=torch.Generator().manual_seed(0),
    )
    assert out.shape == target.shape
    assert out.min() >= 0 and out.max() < (16 if kind == "semantic" else 8)


@pytest.mark.parametrize("kind,pattern", CASES)
def test_greedy_cached_generation_equals_uncached_argmax(kind, pattern):
    """Sampling with the KV cache must follow the model's full-sequence predictions."""
    stage = _stage(kind, pattern)
    prefix, _, _ = _inputs(stage, b=1)
    frames = stage.config.target_frames
    out = stage.generate(prefix, frames, SamplingOptions(temperature=0))
    # the full forward on prefix + generated target, fed back, predicts the same tokens
    target = out
    ids = torch.cat([prefix, stage.layout.target_ids(target)], dim=2)
    logits = stage.net(ids[:, :, :-1])[:, :, prefix.shape[2] - 1 :]
    labels = stage.labels(target)
    pred = logits.argmax(-1)
    if stage.layout.pattern == "flat" and kind != "semantic":
        k = stage.layout.acoustic_codebook
        q = stage.layout.target_levels
        level = torch.arange(pred.shape[-1]) % q
        masked = logits.clone()
        for lv in range(q):
            keep = torch.zeros(logits.shape[-1], dtype=torch.bool)
            keep[lv * k : (lv + 1) * k] = True
            masked[:, :, level == lv] = logits[:, :, level == lv].masked_fill(~keep, -1e9)
        pred = masked.argmax(-1)
    real = labels != -100
    assert torch.equal(pred[real], labels[real])


def test_seeded_sampling_is_deterministic():
    stage = _stage("coarse")
    prefix, uncond, _ = _inputs(stage)
    runs = [
        stage.generate(
            prefix,
            20,
            SamplingOptions(cfg=2.0, top_k=4),
            uncond_prefix=uncond,
            generator=torch.Generator().manual_seed(7),
        )
        for _ in range(2)
    ]
    assert torch.equal(*runs)


def test_prefill_in_row_chunks_draws_the_same_and_heads_see_one_position(monkeypatch):
    """A batch's prefix goes through a few rows at a time and only its last position
    reaches the heads (the memory of a long piece's fine batch): the draws stay those
    of the whole batch at once."""
    import musiclm.stages.lm as lm

    stage = _stage("fine")
    prefix, _, _ = _inputs(stage, b=2)
    prefix = prefix.repeat(3, 1, 1)  # 6 rows

    def run():
        g = torch.Generator().manual_seed(3)
        return stage.generate(prefix, 20, SamplingOptions(temperature=0.9), generator=g)

    whole = run()
    seen = []
    hook = stage.net.heads[0].register_forward_hook(lambda m, i, o: seen.append(i[0].shape))
    monkeypatch.setattr(lm, "PREFILL_ROWS", 4)  # chunks of 4 and 2 rows
    chunked = run()
    hook.remove()
    assert torch.equal(chunked, whole)
    assert [s[:2] for s in seen[:2]] == [(4, 1), (2, 1)]  # the prefill: last position only


@pytest.mark.parametrize(
    "kind,pattern", [("semantic", "delay"), ("coarse", "delay"), ("fine", "flat")]
)
def test_loss_decreases_on_a_fixed_batch(kind, pattern):
    stage = _stage(kind, pattern).train()
    prefix, _, target = _inputs(stage)
    opt = torch.optim.AdamW(stage.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = stage.loss(prefix, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_too_many_frames_are_refused():
    stage = _stage("semantic")
    prefix, _, _ = _inputs(stage)
    with pytest.raises(ValueError, match="window"):
        stage.generate(prefix, stage.config.target_frames + 1)


def test_a_prompt_continues_exactly_like_greedy_generation():
    stage = _stage("semantic")
    prefix, _, _ = _inputs(stage, b=2)
    full = stage.generate(prefix, 10, SamplingOptions(temperature=0))
    again = stage.generate(prefix, 10, SamplingOptions(temperature=0), prompt=full[:, :4])
    assert torch.equal(full, again)
    with pytest.raises(ValueError, match="prompt"):
        stage.generate(prefix, 4, prompt=full[:, :4])


def test_guidance_scale_one_is_the_conditional_model():
    from musiclm.stages.sampling import guide

    stage = _stage("semantic")
    prefix, uncond, _ = _inputs(stage)
    c, u = torch.randn(2, 16), torch.randn(2, 16)
    torch.testing.assert_close(guide(c, u, 1.0), c.log_softmax(-1))
    runs = [
        stage.generate(
            prefix,
            10,
            SamplingOptions(cfg=1.0),
            uncond_prefix=p,
            generator=torch.Generator().manual_seed(3),
        )  # fmt: skip
        for p in (uncond, None)
    ]
    assert torch.equal(*runs)
    guided = stage.generate(prefix, 10, SamplingOptions(cfg=3.0), uncond_prefix=uncond,
                            generator=torch.Generator().manual_seed(3))  # fmt: skip
    assert not torch.equal(guided, runs[0])


def _argmax_given(stage, prefix, target):
    """The full model's argmax at each target position, given ``target`` as the
    teacher-forced sequence (flattened targets: within the level due at each step)."""
    ids = torch.cat([prefix, stage.layout.target_ids(target)], dim=2)
    logits = stage.net(ids[:, :, :-1])[:, :, prefix.shape[2] - 1 :]
    lay = stage.layout
    if lay.pattern == "flat" and lay.kind != "semantic":
        k, q = lay.acoustic_codebook, lay.target_levels
        level = torch.arange(logits.shape[2]) % q
        allowed = (torch.arange(logits.shape[-1])[None] // k) == level[:, None]  # (steps, V)
        logits = logits.masked_fill(~allowed[None, None], -1e9)
    return logits.argmax(-1), stage.labels(target)


@pytest.mark.parametrize("kind,pattern", CASES)
def test_any_prompt_is_kept_and_continued_as_the_model_predicts(kind, pattern):
    """A prompt of any stage (random codes, not the model's own) comes back unchanged as
    the first frames, and every later token is the model's greedy choice given the
    prompt: with the delay pattern the later levels of the prompt's last frames, due
    after its first steps, are the prompt's, not draws."""
    stage = _stage(kind, pattern)
    prefix, _, target = _inputs(stage, b=2)
    frames, k = stage.config.target_frames, 7
    prompt = target[..., :k]
    out = stage.generate(prefix, frames, SamplingOptions(temperature=0), prompt=prompt)
    assert out.shape == target.shape
    assert torch.equal(out[..., :k], prompt)
    pred, labels = _argmax_given(stage, prefix, out)
    # positions after the prompt: the model's own argmax
    after = torch.zeros_like(labels, dtype=torch.bool)
    lay = stage.layout
    if lay.kind == "semantic" or pattern == "flat":
        after[..., k * (lay.target_levels if lay.kind != "semantic" else 1) :] = True
    else:  # delayed: level q of frame t sits at step t + q
        for level in range(lay.target_levels):
            after[:, level, k + level :] = True
    real = labels != -100
    assert torch.equal(pred[real & after], labels[real & after])
    free = stage.generate(prefix, frames, SamplingOptions(temperature=0))
    assert not torch.equal(free[..., :k], prompt)  # the prompt was not what it would draw


def test_an_acoustic_prompt_with_guidance_and_sampling_is_kept():
    stage = _stage("coarse", "delay")
    prefix, uncond, target = _inputs(stage, b=2)
    g = torch.Generator().manual_seed(3)
    out = stage.generate(prefix, 20, SamplingOptions(cfg=3.0, top_k=4), uncond_prefix=uncond,
                         prompt=target[..., :5], generator=g)  # fmt: skip
    assert torch.equal(out[..., :5], target[..., :5]) and out.shape == (2, 2, 20)
    with pytest.raises(ValueError, match="shape"):
        stage.generate(prefix, 20, prompt=target[:, 0, :5])
    with pytest.raises(ValueError, match="prompt"):
        stage.generate(prefix, 5, prompt=target[..., :5])
