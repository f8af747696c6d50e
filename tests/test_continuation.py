"""Continuation with debug-sized parts: the output begins with the prompt, is as long as
asked, has no jump at the join, and bad prompts are refused with one clear line."""

import numpy as np
import pytest
import soundfile as sf
import torch

from musiclm import continuation
from musiclm.continuation import MAX_PROMPT_S, MIN_PROMPT_S, OVERLAP_S, join
from musiclm.errors import UserError
from musiclm.io import resample
from musiclm.pipeline import MusicLM


@pytest.fixture(scope="module")
def model():
    return MusicLM.debug(seed=0, attributes=True, beats=True)


def _music(sr: int, seconds: float, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A chord with a pulse at 120 bpm and a little noise: something with a tempo and key."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    pulse = 0.5 + 0.5 * np.exp(-((t * 2.0) % 1.0) * 8)  # a beat every 0.5 s
    y = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)) / 3 * pulse * 0.4
    out = [y + 0.01 * rng.standard_normal(len(t)) for _ in range(channels)]
    return np.stack(out).astype(np.float32) if channels > 1 else out[0].astype(np.float32)


def test_the_output_begins_with_the_prompt_and_is_seconds_long(model):
    sr = model.sample_rate
    x = _music(sr, 2.0)
    y = model.generate(None, seconds=4.0, seed=0, continue_from=x)
    assert y.shape == (1, 4 * sr) and y.dtype == np.float32 and np.isfinite(y).all()
    head = len(x) - round(OVERLAP_S * sr)
    np.testing.assert_array_equal(y[0, :head], x[:head])  # as given, not re-synthesised
    assert np.abs(y[0, len(x) :]).max() > 0  # something follows
    again = model.generate(None, seconds=4.0, seed=0, continue_from=x)
    np.testing.assert_array_equal(y, again)
    assert not np.array_equal(y, model.generate(None, seconds=4.0, seed=1, continue_from=x))


def test_the_join_has_no_jump(model):
    """Across the crossfade, no sample step is larger than the steps the prompt and the
    continuation make on their own; a hard cut between them would be."""
    sr = model.sample_rate
    x = _music(sr, 2.0)
    y = model.generate(None, seconds=4.0, seed=0, continue_from=x)[0]
    ov = round(OVERLAP_S * sr)
    seam = np.abs(np.diff(y[len(x) - ov - 1 : len(x) + 1])).max()
    own = max(np.abs(np.diff(x)).max(), np.abs(np.diff(y[len(x) :])).max())
    assert seam <= own


def test_the_continuation_comes_in_at_the_prompts_level():
    from musiclm.continuation import MAX_LEVEL_DB, level_gain

    sr = 8000
    rng = np.random.default_rng(0)
    prompt = (0.01 * rng.standard_normal(2 * sr)).astype(np.float32)  # -40 dBFS
    loud = (0.1 * rng.standard_normal((2, 5 * sr))).astype(np.float32)  # -20 dBFS
    out = join(prompt, loud, sr)
    after = out[:, 2 * sr : 3 * sr]
    db = 20 * np.log10(after.std(axis=1) / prompt[-sr:].std())
    assert np.all(np.abs(db) < 1.0)  # was +20 dB
    silent = np.zeros((1, 5 * sr), np.float32)
    assert level_gain(prompt, silent, sr)[0] == pytest.approx(10 ** (MAX_LEVEL_DB / 20))
    np.testing.assert_array_equal(level_gain(prompt, loud[:, : 2 * sr], sr), [1.0, 1.0])


def test_join_crossfades_at_equal_power():
    sr = 8000
    t = np.arange(sr) / sr
    prompt = np.sin(2 * np.pi * 100 * t).astype(np.float32)
    other = np.sin(2 * np.pi * 100 * t + 2.0)[None].astype(np.float32)  # out of phase
    out = join(prompt, other, sr)
    ov, n = round(OVERLAP_S * sr), len(prompt)
    np.testing.assert_array_equal(out[0, : n - ov], prompt[: n - ov])
    cut = np.concatenate([prompt[: n - ov], other[0, n - ov :]])
    assert np.abs(np.diff(cut)).max() > 0.5  # a hard cut would click
    assert np.abs(np.diff(out[0])).max() < 0.1  # 100 Hz at 8 kHz steps by <= 0.08
    # uncorrelated noise keeps its level through the fade (equal power)
    rng = np.random.default_rng(0)
    a, b = (
        rng.standard_normal(sr).astype(np.float32),
        rng.standard_normal((1, sr)).astype(np.float32),
    )
    mid = join(a, b, sr)[0, n - ov : n]
    assert 0.85 < mid.std() < 1.15


def test_a_stereo_441_khz_recording_is_folded_and_resampled(model, tmp_path):
    x = _music(44100, 2.5, channels=2)
    path = tmp_path / "take.wav"
    sf.write(str(path), x.T, 44100, subtype="PCM_16")  # a real recording's format
    y = model.generate(None, seconds=4.0, seed=0, continue_from=str(path))
    sr = model.sample_rate
    read, _ = sf.read(str(path), dtype="float32", always_2d=True)
    expected = resample(read.mean(axis=1), 44100, sr)
    head = len(expected) - round(OVERLAP_S * sr)
    np.testing.assert_allclose(y[0, :head], expected[:head], atol=1e-6)
    # an array and its rate give the same as the file
    same = model.generate(None, seconds=4.0, seed=0, continue_from=(read.T, 44100))
    np.testing.assert_array_equal(same, y)


def test_the_prompt_s_tokens_are_where_the_stages_start(model):
    """Semantic tokens, coarse and fine codes of the prompt's seconds are the prompt's own;
    the stages only add what follows."""
    from musiclm.pipeline import GenerationOptions, _Call

    sr = model.sample_rate
    p = model.encode_prompt(_music(sr, 2.0))
    sem_rate = model.semantic.layout.semantic_rate
    assert p.semantic.shape == (int(2.0 * sem_rate),) and p.known_seconds == 2.0
    assert p.codes.shape[1] == 2 * model.coarse.layout.acoustic_rate
    conds = continuation.conditions(model, ["a", "b"], p)
    g = [torch.Generator().manual_seed(i) for i in range(2)]
    opts = GenerationOptions()
    call = _Call({}, None)
    sem = continuation._semantic(model, conds, p.semantic.expand(2, -1), 5.0, opts, g, call)
    assert sem.shape == (2, 5 * sem_rate) and torch.equal(sem[:, : len(p.semantic)],
                                                          p.semantic.expand(2, -1))  # fmt: skip
    coarse, fine = continuation.continue_codes(model, conds, p, 5.0, opts, g, call)
    qc, kc = model.coarse.layout.coarse_levels, p.codes.shape[1]
    assert coarse.shape[2] == fine.shape[2] == 5 * model.coarse.layout.acoustic_rate
    assert torch.equal(coarse[:, :, :kc], p.codes[:qc].expand(2, -1, -1))
    assert torch.equal(fine[:, :, :kc], p.codes[qc:].expand(2, -1, -1))
    assert not torch.equal(coarse[0, :, kc:], coarse[1, :, kc:])  # each text its own


def test_conditions_text_or_the_prompt_s_audio_and_its_tempo_and_key(model):
    p = model.encode_prompt(_music(model.sample_rate, 3.0))
    assert p.tempo is not None and p.key is not None  # a pulse and a chord
    (c,) = continuation.conditions(model, None, p)
    assert torch.equal(c.mulan, p.mulan) and c.text == ""
    assert (c.tempo, c.key) == (p.tempo, p.key)
    (d,) = continuation.conditions(model, ["piano at 90 bpm"], p, key="F# minor")
    assert d.tempo == 90.0 and d.attributes()["key"] == "F# minor"
    assert torch.equal(d.mulan, model.conditions(["piano at 90 bpm"])[0].mulan)
    plain = MusicLM.debug(seed=0)  # no tempo and key tokens: none estimated, none used
    q = plain.encode_prompt(_music(plain.sample_rate, 2.0))
    assert q.tempo is None and q.key is None
    (e,) = continuation.conditions(plain, "", q)
    assert e.tempo is None and e.key is None


def test_run_with_an_encoded_prompt_is_generate(model):
    x = _music(model.sample_rate, 2.0)
    p = model.encode_prompt(x)
    conds = continuation.conditions(model, ["calm piano", "loud rock"], p)
    made = model.run(conds, seconds=3.5, seed=4, continue_from=p)
    a = model.generate(["calm piano", "loud rock"], seconds=3.5, seed=4, continue_from=x)
    np.testing.assert_array_equal(made.audio, a)
    assert {"semantic", "coarse", "fine", "decode"} <= set(made.timings.seconds)


def test_progress_totals_are_the_steps_drawn(model):
    x = _music(model.sample_rate, 2.0)
    p = model.encode_prompt(x)
    seen: dict[str, tuple[int, int]] = {}
    model.generate(None, seconds=5.3, seed=0, continue_from=p,
                   progress=lambda s, d, t: seen.__setitem__(s, (d, t)))  # fmt: skip
    plan = continuation.plan_steps(model, 1, p, 5.3)
    assert {s: d for s, (d, _) in seen.items()} == plan
    assert all(t == plan[s] for s, (_, t) in seen.items())


def test_a_saved_model_keeps_its_tokenizer(model, tmp_path):
    model.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "tokenizer" / "config.json").exists()
    back = MusicLM.from_pretrained(tmp_path / "m")
    x = _music(model.sample_rate, 2.0)
    mine = model.generate(None, seconds=3.0, seed=2, continue_from=x)
    np.testing.assert_array_equal(back.generate(None, seconds=3.0, seed=2, continue_from=x), mine)
    # a folder without one (as every folder before) loads, with the bundled tokenizer later
    import shutil

    shutil.rmtree(tmp_path / "m" / "tokenizer")
    again = MusicLM.from_pretrained(tmp_path / "m")
    assert again._tokenizer is None and again._tokenizer_path is None
    with pytest.raises(UserError, match="tokenizer"):  # the bundled one has 1024 ids, not 16
        _ = again.semantic_tokenizer


def _write(path, audio, sr):
    sf.write(str(path), audio, sr, subtype="PCM_16")
    return path


def _bytes(path, data: bytes):
    path.write_bytes(data)
    return path


BAD = [  # (make the source, a word the one line holds)
    (lambda d: d / "missing.wav", "no such file"),
    (lambda d: _bytes(d / "empty.wav", b""), "empty"),
    (lambda d: _bytes(d / "bad.wav", b"RIFF0000WAVEjunk" * 8), "cannot read"),
    (lambda d: _write(d / "silent.wav", np.zeros(16000, np.float32), 8000), "silent"),
    (lambda d: _write(d / "short.wav", _music(8000, 0.1), 8000), f"at least {MIN_PROMPT_S:g} s"),
    (lambda d: _write(d / "long.wav", np.zeros(20 * 60 * 1000, np.float32), 1000),
     f"at most {MAX_PROMPT_S:g} s"),
    (lambda d: d, "folder"),
]  # fmt: skip


@pytest.mark.parametrize("make,needle", BAD, ids=lambda v: getattr(v, "__name__", v))
def test_bad_prompt_files_are_one_clear_line(model, tmp_path, make, needle):
    with pytest.raises(UserError, match=needle) as e:
        model.generate(None, seconds=4.0, continue_from=make(tmp_path))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "source,needle",
    [
        (np.zeros(0, np.float32), "holds no audio"),
        (np.full(16000, np.nan, np.float32), "NaN"),
        (np.zeros((3, 100, 5), np.float32), "channels, samples"),
        ((np.ones(16000, np.float32) * 0.5, -8000), "sample_rate"),
    ],
)
def test_bad_prompt_arrays_are_refused(model, source, needle):
    with pytest.raises(UserError, match=needle):
        model.encode_prompt(source)


def test_a_prompt_as_long_as_the_output_is_refused(model):
    x = _music(model.sample_rate, 2.0)
    for seconds in (2.0, 1.5, 2.2):
        with pytest.raises(UserError, match="must be at least"):
            model.generate(None, seconds=seconds, continue_from=x)


# -- the prompt's tune, carried on -----------------------------------------------------------


def _prompt_with(ids, tempo):
    """A Prompt holding only what carried_tune reads."""
    ids = None if ids is None else np.asarray(ids, np.int64)
    empty = torch.zeros(0)
    return continuation.Prompt(np.zeros(8, np.float32), 8000, "array", 8000, empty,
                               torch.zeros(0, 0), empty, tempo, None, 0.0, ids)  # fmt: skip


def test_the_carried_tune_keeps_the_prompt_s_frames_then_repeats_its_last_bars():
    from musiclm.conditions import MELODY_PC0, MELODY_RATE, MELODY_REST

    # 120 bpm: a bar is 2 s = 50 frames; a 5.2 s prompt (130 frames) holds 2 whole bars
    ids = MELODY_PC0 + (np.arange(130) // 10) % 12
    got = continuation.carried_tune(_prompt_with(ids, 120.0), 10.0).numpy()
    assert got.shape == (10 * MELODY_RATE,)
    np.testing.assert_array_equal(got[:130], ids)  # the prompt's own frames, as heard
    np.testing.assert_array_equal(got[130:230], ids[30:130])  # its last 2 bars ...
    np.testing.assert_array_equal(got[230:], ids[30:50])  # ... again, from their start
    # no tempo: the whole tune repeats
    whole = continuation.carried_tune(_prompt_with(ids, None), 10.0).numpy()
    np.testing.assert_array_equal(whole[130:], ids[:120])
    # 3 whole bars -> 2 (a power of two); silent last bars -> a shorter span that sings
    ids3 = MELODY_PC0 + (np.arange(160) // 10) % 12
    got3 = continuation.carried_tune(_prompt_with(ids3, 120.0), 12.0).numpy()
    np.testing.assert_array_equal(got3[160:260], ids3[60:160])
    quiet_end = ids3.copy()
    quiet_end[60:] = MELODY_REST  # no bar at the end sings: the whole tune repeats
    got4 = continuation.carried_tune(_prompt_with(quiet_end, 120.0), 12.0).numpy()
    np.testing.assert_array_equal(got4[160:], quiet_end[:140])


def test_a_prompt_with_no_tune_carries_none():
    from musiclm.conditions import MELODY_REST

    assert continuation.carried_tune(_prompt_with(None, 120.0), 9.0) is None
    assert continuation.carried_tune(_prompt_with([MELODY_REST] * 40, 120.0), 9.0) is None


def test_a_continuation_follows_the_prompt_s_tune_unless_told_not(model):
    from musiclm.pipeline import GenerationOptions

    assert model.encode_prompt(_music(model.sample_rate, 2.0)).melody is None  # takes none
    net = MusicLM.debug(seed=0, attributes=True, melody=True)
    p = net.encode_prompt(_music(net.sample_rate, 2.0))
    assert p.melody is not None and p.melody.shape == p.semantic.shape  # its frames
    conds = continuation.conditions(net, None, p)
    (c,) = net.run(conds, seconds=4.0, seed=0, continue_from=p).conditions
    assert c.tune and c.melody.shape == (100,)
    assert torch.equal(c.melody[: len(p.melody)], torch.from_numpy(p.melody))
    (off,) = net.run(conds, seconds=4.0, seed=0, continue_from=p,
                     options=GenerationOptions(tune=False)).conditions  # fmt: skip
    assert off.melody is None


# -- drafts ----------------------------------------------------------------------------------


def _chord(sr: int, seconds: float, freqs) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (sum(np.sin(2 * np.pi * f * t) for f in freqs) * 0.2).astype(np.float32)


def test_the_draft_kept_is_the_one_in_the_prompt_s_key(model, monkeypatch):
    """nearest_drafts decodes each draft's coarse codes, one at a time, and keeps, per
    piece, the one whose mean chroma is nearest the prompt's."""
    sr = model.sample_rate
    a_major, e_flat = (220.0, 277.18, 329.63), (311.13, 392.0, 466.16)
    p = model.encode_prompt(_chord(sr, 2.0, a_major))
    drafts = [
        _chord(sr, 1.0, e_flat),
        _chord(sr, 1.0, a_major),  # piece 0: draft 1
        _chord(sr, 1.0, a_major),
        np.zeros(sr, np.float32),
    ]  # piece 1: draft 0 (silence)
    from musiclm import songs

    played = iter(drafts)  # one draft decoded at a time
    monkeypatch.setattr(songs, "decode", lambda codec, codes: torch.from_numpy(next(played)))
    new = torch.zeros(4, model.coarse.layout.coarse_levels, 3, dtype=torch.long)
    assert continuation.nearest_drafts(model, p, new, 2).tolist() == [1, 0]


def test_draft_0_is_the_single_draft_and_drafts_are_timed(model, monkeypatch):
    from musiclm.pipeline import GenerationOptions

    p = model.encode_prompt(_music(model.sample_rate, 2.0))
    conds = continuation.conditions(model, ["a", "b"], p)
    one = model.run(conds, 4.0, seed=3, continue_from=p, options=GenerationOptions(drafts=1))
    assert "drafts" not in one.timings.seconds
    two = model.run(conds, 4.0, seed=3, continue_from=p, options=GenerationOptions(drafts=2))
    assert "drafts" in two.timings.seconds and two.audio.shape == one.audio.shape
    monkeypatch.setattr(
        continuation,
        "nearest_drafts",
        lambda model, prompt, new, n: torch.zeros(len(new) // n, dtype=torch.long),
    )
    first = model.run(conds, 4.0, seed=3, continue_from=p, options=GenerationOptions(drafts=2))
    np.testing.assert_array_equal(first.audio, one.audio)  # draft 0 is the piece's own draw


@pytest.mark.parametrize("bad", [0, 9, 1.5, "2"])
def test_bad_draft_counts_are_refused(bad):
    from musiclm.pipeline import GenerationOptions

    with pytest.raises(UserError, match="drafts"):
        GenerationOptions(drafts=bad)
