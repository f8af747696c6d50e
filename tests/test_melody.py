import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import torch

from musiclm.conditions import MELODY_PC0, MELODY_RATE, MELODY_REST
from musiclm.errors import UserError
from musiclm.eval.melody import sine_melody
from musiclm.melody import (
    MAX_SECONDS,
    frame_count,
    ids_from_f0,
    load_melody,
    melody_from_midi,
    melody_ids,
    melody_tempo,
    piece_tempo,
)

SR = 22050


def _f0_track(midi_per_frame: list[float | None], hop: float = 0.01):
    """A tracker's output: 4 tracker frames per melody frame, ``None`` = unvoiced."""
    rows = [m for m in midi_per_frame for _ in range(round(1 / MELODY_RATE / hop))]
    f0 = np.array([0.0 if m is None else 440 * 2 ** ((m - 69) / 12) for m in rows])
    return np.arange(len(rows)) * hop, f0, f0 > 0


def _accuracy(est: np.ndarray, ref: np.ndarray) -> float:
    voiced = ref >= MELODY_PC0
    return float((est[voiced] == ref[voiced]).mean())


# ---------------------------------------------------------------- f0 -> ids


def test_ids_from_f0_are_pitch_classes_and_rests():
    times, f0, voiced = _f0_track([60, 60, None, None, 64, 67, 67, 71])
    ids = ids_from_f0(times, f0, voiced, 8)
    assert ids.dtype == np.int64
    assert ids.tolist() == [
        MELODY_PC0 + 0, MELODY_PC0 + 0, MELODY_REST, MELODY_REST,
        MELODY_PC0 + 4, MELODY_PC0 + 7, MELODY_PC0 + 7, MELODY_PC0 + 11,
    ]  # fmt: skip


def test_ids_from_f0_ignore_octave_and_tuning():
    tune = [60, 62, 64, 65, 67, 69, 71, 72] * 3
    ref = ids_from_f0(*_f0_track(tune), len(tune))
    for shift in (-12, 12, 24):  # an octave down, up, two up
        assert (ids_from_f0(*_f0_track([m + shift for m in tune]), len(tune)) == ref).all()
    # a singer 40 cents flat (nearer the wrong semitone below than 0 cents off)
    flat = ids_from_f0(*_f0_track([m - 0.4 for m in tune]), len(tune))
    assert (flat == ref).all()
    # not key-relative: the tune a tone higher has other ids
    up = ids_from_f0(*_f0_track([m + 2 for m in tune]), len(tune))
    assert (up == np.where(ref >= MELODY_PC0, MELODY_PC0 + (ref - MELODY_PC0 + 2) % 12, ref)).all()


def test_ids_from_f0_remove_one_frame_blips_and_pad_to_length():
    ids = ids_from_f0(*_f0_track([60, 60, 61, 60, 60]), 10)
    assert ids[:5].tolist() == [MELODY_PC0] * 5
    assert (ids[5:] == MELODY_REST).all()
    # two frames of a new note are a note, not a blip
    ids = ids_from_f0(*_f0_track([60, 60, 62, 62, 60]), 5)
    assert ids.tolist() == [MELODY_PC0] * 2 + [MELODY_PC0 + 2] * 2 + [MELODY_PC0]


def test_ids_from_f0_of_nothing_voiced_is_all_rests():
    times = np.arange(100) * 0.01
    ids = ids_from_f0(times, np.zeros(100), np.zeros(100, bool), 25)
    assert (ids == MELODY_REST).all() and len(ids) == 25


# ---------------------------------------------------------------- MIDI -> ids


def _midi(tmp_path, melody_name: str = "flute (melody)"):
    pm = pretty_midi.PrettyMIDI()
    mel = pretty_midi.Instrument(program=73, name=melody_name)
    mel.notes += [
        pretty_midi.Note(velocity=90, pitch=72, start=0.0, end=0.5),  # C5
        pretty_midi.Note(velocity=90, pitch=64, start=0.5, end=1.0),  # E4 ...
        pretty_midi.Note(velocity=90, pitch=67, start=0.5, end=1.0),  # ... with G4 above
    ]
    harm = pretty_midi.Instrument(program=0, name="piano (harmony)")
    harm.notes.append(pretty_midi.Note(velocity=90, pitch=83, start=0.0, end=2.0))  # B5
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="kit (drums)")
    drums.notes.append(pretty_midi.Note(velocity=90, pitch=36, start=0.0, end=2.0))
    pm.instruments += [mel, harm, drums]
    path = tmp_path / "score.mid"
    pm.write(str(path))
    return path, pm


def test_melody_from_midi_reads_the_melody_part_only(tmp_path):
    path, pm = _midi(tmp_path)
    ids = melody_from_midi(path, 2.0)
    assert len(ids) == frame_count(2.0) == 50
    assert (ids[:12] == MELODY_PC0 + 0).all()  # C, not the harmony's B above it
    assert (ids[13:25] == MELODY_PC0 + 7).all()  # the highest melody note: G
    assert (ids[25:] == MELODY_REST).all()
    assert (melody_from_midi(pm, 2.0) == ids).all()  # a PrettyMIDI works too


def test_melody_from_midi_without_a_named_melody_takes_the_top_line(tmp_path):
    path, _ = _midi(tmp_path, melody_name="flute")
    ids = melody_from_midi(path, 2.0)
    assert (ids == MELODY_PC0 + 11).all()  # the piano's B sounds above all, drums ignored


def test_melody_from_midi_refuses_a_bad_file(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi at all")
    with pytest.raises(UserError, match="not a readable MIDI"):
        melody_from_midi(bad, 2.0)


# ---------------------------------------------------------------- audio -> ids


def test_melody_ids_track_a_sine_tune_with_vibrato():
    audio, ref = sine_melody(10, 6.0, SR)
    # a second of silence either side: rests the tracker must leave alone
    audio = np.pad(audio, SR)
    ref = np.pad(ref, MELODY_RATE, constant_values=MELODY_REST)
    ids = melody_ids(audio, SR)
    assert ids.shape == ref.shape and ids.dtype == np.int64
    assert _accuracy(ids, ref) > 0.8
    assert (ids[ref == MELODY_REST] == MELODY_REST).mean() > 0.8  # rests stay rests


def test_melody_ids_are_robust_to_octave_timbre_and_sample_rate():
    audio, ref = sine_melody(11, 6.0, 16000, low=45, high=57, harmonics=6)  # low, hummed
    assert _accuracy(melody_ids(audio, 16000, len(ref)), ref) > 0.75
    audio, ref = sine_melody(11, 6.0, 44100, low=69, high=88)  # high, whistled
    assert _accuracy(melody_ids(audio, 44100, len(ref)), ref) > 0.75


# ---------------------------------------------------------------- load_melody


def _write(path, audio, sr=SR):
    sf.write(str(path), audio, sr)
    return path


def test_load_melody_loops_a_short_tune_and_cuts_a_long_one(tmp_path):
    audio, _ = sine_melody(12, 3.0, SR)
    ids = load_melody(_write(tmp_path / "hum.wav", audio), seconds=10.0)
    assert ids.shape == (250,) and ids.dtype == np.int64
    tune = melody_ids(audio, SR)
    voiced = np.flatnonzero(tune >= MELODY_PC0)
    tune = tune[voiced[0] : voiced[-1] + 1]  # looped without its leading/trailing rests
    assert (ids == np.resize(tune, 250)).all()
    cut = load_melody(tmp_path / "hum.wav", seconds=1.0)
    assert (cut == ids[:25]).all()


def test_load_melody_takes_stereo_arrays_and_any_rate(tmp_path):
    audio, _ = sine_melody(13, 3.0, 48000)
    mono = load_melody(_write(tmp_path / "m.wav", audio, 48000), seconds=4.0)
    stereo = load_melody(
        _write(tmp_path / "s.flac", np.stack([audio, audio], 1), 48000), seconds=4.0
    )
    assert (mono == stereo).all()
    assert (load_melody(np.stack([audio, audio]), 48000, seconds=4.0) == mono).all()
    low, _ = sine_melody(13, 3.0, 8000)
    assert (load_melody(low, 8000, seconds=4.0) >= MELODY_PC0).mean() > 0.5


@pytest.mark.parametrize(
    "case, match",
    [
        ("missing", "not found"),
        ("empty", "is empty"),
        ("corrupt", "cannot read audio"),
        ("silent", "is silent"),
        ("short", "at least 0.5 s"),
        ("long", "the most is 5 minutes"),
        ("noise", "no melody heard"),
    ],
)
def test_load_melody_refuses_bad_files_in_one_line(tmp_path, case, match):
    path = tmp_path / f"{case}.wav"
    rng = np.random.default_rng(0)
    if case == "empty":
        path.write_bytes(b"")
    elif case == "corrupt":
        path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    elif case == "silent":
        _write(path, np.zeros(SR * 2, np.float32))
    elif case == "short":
        _write(path, sine_melody(0, 0.1, SR)[0])
    elif case == "long":  # 20 minutes, written at a low rate to stay small
        _write(path, np.zeros(int(1000 * 60 * 20), np.float32) + 0.1, 1000)
    elif case == "noise":
        _write(path, (0.3 * rng.standard_normal(SR * 2)).astype(np.float32))
    with pytest.raises(UserError, match=match) as e:
        load_melody(path, seconds=10.0)
    assert "\n" not in str(e.value)


def test_load_melody_refuses_bad_arrays():
    with pytest.raises(UserError, match="sample_rate"):
        load_melody(np.ones(SR, np.float32), seconds=5.0)
    with pytest.raises(UserError, match="at least"):
        load_melody(np.ones(100, np.float32), SR, seconds=5.0)
    with pytest.raises(UserError, match="minutes"):
        load_melody(np.ones(int(8000 * (MAX_SECONDS + 1)), np.float32), 8000, seconds=5.0)
    with pytest.raises(UserError, match="NaN"):
        load_melody(np.full(SR, np.nan, np.float32), SR, seconds=5.0)


def test_melody_tempo_of_a_tune_on_a_beat():
    sr, bpm = 22050, 120.0
    beat = 60 / bpm
    t = np.arange(int(8 * sr)) / sr
    pitch = 60 + 2 * (np.floor(t / beat) % 4)  # a new note on every beat
    env = np.exp(-(t % beat) * 8)  # plucked: an onset per beat
    audio = (0.3 * env * np.sin(2 * np.pi * np.cumsum(440 * 2 ** ((pitch - 69) / 12)) / sr)).astype(
        np.float32
    )
    est = melody_tempo(audio, sr)
    assert est is not None and min(abs(est * f - bpm) / bpm for f in (0.5, 1, 2)) < 0.05
    assert melody_tempo(np.zeros(sr * 4, np.float32), sr) is None


def test_piece_tempo_takes_the_octave_of_the_melody_tempo_that_fits_the_text():
    # the genre's range: reggae 70-90, drum and bass 165-178 (the engine's templates)
    assert piece_tempo(140.0, "a reggae tune with organ skank") == 70.0
    assert piece_tempo(82.0, "a reggae tune with organ skank") == 82.0
    assert piece_tempo(85.0, "liquid drum and bass") == 170.0
    # a tempo the text states wins over the genre's range
    assert piece_tempo(140.0, "reggae at 150 bpm", stated=150.0) == 140.0
    assert piece_tempo(140.0, "a calm piano at 66 bpm", stated=66.0) == 70.0
    # no genre named: pop's range (95-125); ties (both in range) keep the melody's own
    assert piece_tempo(220.0, "a nice tune") == 110.0
    assert piece_tempo(110.0, "a nice tune") == 110.0
    # never outside the tempos a prompt may state
    assert piece_tempo(30.0, "drum and bass") == 60.0
    assert piece_tempo(390.0, "ambient drones") == 195.0  # one octave at most


def test_the_torchaudio_stand_in_fails_loudly_on_use():
    from musiclm.melody import _TorchaudioStandIn

    stand_in = _TorchaudioStandIn("torchaudio")
    with pytest.raises(ImportError, match="torchaudio.load"):
        stand_in.load("x.wav")
    assert not hasattr(stand_in, "__path__")  # not a package: submodule imports fail too


# ---------------------------------------------------------------- key, read_melody


def _plucked(sr: int, bpm: float, pitches: list[int], seconds: float = 8.0) -> np.ndarray:
    """A note on every beat, cycling through ``pitches`` (MIDI numbers), plucked."""
    beat = 60 / bpm
    t = np.arange(int(seconds * sr)) / sr
    pitch = np.asarray(pitches)[(np.floor(t / beat) % len(pitches)).astype(int)]
    env = np.exp(-(t % beat) * 8)
    phase = 2 * np.pi * np.cumsum(440 * 2 ** ((pitch - 69) / 12)) / sr
    return (0.3 * env * np.sin(phase)).astype(np.float32)


def test_melody_key_weighs_pitch_classes_by_duration():
    from musiclm.melody import melody_key

    def tune(pcs_frames):
        return np.concatenate([np.full(n, MELODY_PC0 + pc) for pc, n in pcs_frames])

    c_major = tune([(0, 40), (4, 20), (7, 30), (5, 10), (2, 10), (11, 5), (9, 10)])
    assert melody_key(c_major)[0] == "C major"
    a_minor = tune([(9, 40), (0, 25), (4, 30), (2, 10), (11, 10), (5, 8), (7, 5)])
    assert melody_key(a_minor)[0] == "A minor"
    assert melody_key(np.full(50, MELODY_REST)) == (None, 0.0)


def test_read_melody_gives_the_tunes_ids_tempo_and_key(tmp_path):
    from musiclm.melody import read_melody

    audio = _plucked(SR, 120.0, [62, 66, 69, 74, 69, 66, 62, 57])  # D major arpeggio
    m = read_melody(_write(tmp_path / "d.wav", audio), seconds=5.0)
    assert m.ids.shape == (frame_count(5.0),) and m.name.endswith("d.wav")
    assert m.key == "D major"
    assert m.tempo is not None and min(abs(m.tempo * f - 120) / 120 for f in (0.5, 1, 2)) < 0.05
    assert (load_melody(tmp_path / "d.wav", seconds=5.0) == m.ids).all()


# ---------------------------------------------------------------- generate(..., melody=)


@pytest.fixture(scope="module")
def melody_model():
    from musiclm.pipeline import MusicLM

    net = MusicLM.debug(seed=0, attributes=True, melody=True)
    g = torch.Generator().manual_seed(0)
    for st in (net.semantic, net.coarse):  # the tables start at zero: give them a voice
        for table in [st.net.position_embed, *st.net.more_position_embeds]:
            if table is not None:
                table.weight.data.normal_(generator=g)
    return net


def test_with_melody_gives_every_piece_the_tune_its_tempo_and_key(melody_model, tmp_path):
    audio = _plucked(SR, 120.0, [62, 66, 69, 74, 69, 66, 62, 57])
    path = _write(tmp_path / "hum.wav", audio)
    conds = melody_model.conditions(["calm piano", "rock at 90 bpm"])
    out = melody_model.with_melody(conds, path, 6.0)
    want = load_melody(path, seconds=6.0)
    for c in out:
        assert (c.melody.numpy() == want).all() and not c.tune
        assert c.attributes()["key"] == "D major"
        assert min(abs(c.tempo * f - 120) / 120 for f in (0.5, 1, 2)) < 0.05
    # a tune at 120 bpm arranged as reggae (70-90 bpm) is played in half time
    (reggae,) = melody_model.with_melody(melody_model.conditions(["a reggae tune"]), path, 6.0)
    assert min(abs(reggae.tempo * f - 60) / 60 for f in (0.5, 1, 2)) < 0.05
    assert 50 <= reggae.tempo <= 90
    # tempo and key given by the caller stay
    given = melody_model.conditions(["rock"], tempo=100, key="E minor")
    kept = melody_model.with_melody(given, path, 6.0, tempo=100, key="E minor")[0]
    assert kept.tempo == 100 and kept.attributes()["key"] == "E minor"


def test_generate_with_a_melody_arranges_it_and_without_gets_a_planned_tune(melody_model):
    from musiclm.pipeline import GenerationOptions

    audio = _plucked(melody_model.sample_rate, 100.0, [60, 64, 67, 72], seconds=3.0)
    a = melody_model.generate(["pop"], seconds=4.0, seed=0, melody=audio)
    b = melody_model.generate(
        ["pop"], seconds=4.0, seed=0, melody=(audio, melody_model.sample_rate)
    )
    assert a.shape == (1, 4 * melody_model.sample_rate) and np.array_equal(a, b)
    other = _plucked(melody_model.sample_rate, 100.0, [61, 63, 66, 70], seconds=3.0)
    assert not np.array_equal(a, melody_model.generate(["pop"], seconds=4.0, seed=0, melody=other))
    made = melody_model.run(melody_model.conditions(["pop"]), seconds=4.0, seed=0)
    assert made.conditions[0].tune and made.conditions[0].melody.shape == (frame_count(4.0),)
    plain = melody_model.run(
        melody_model.conditions(["pop"]), seconds=4.0, seed=0, options=GenerationOptions(tune=False)
    )
    assert plain.conditions[0].melody is None
    assert not np.array_equal(made.audio, plain.audio)


def test_a_melody_is_refused_by_a_model_without_one_and_beside_a_continuation(melody_model):
    from musiclm.pipeline import MusicLM

    audio = _plucked(8000, 100.0, [60, 64, 67], seconds=2.0)
    with pytest.raises(UserError, match="take no melody"):
        MusicLM.debug(seed=0).generate(["pop"], seconds=2.0, seed=0, melody=audio)
    with pytest.raises(UserError, match="continuation"):
        melody_model.generate(None, seconds=4.0, seed=0, melody=audio, continue_from=audio)
    with pytest.raises(UserError, match="silent"):
        melody_model.generate(["pop"], seconds=2.0, seed=0, melody=np.zeros(8000, np.float32))


def _melody_inputs(model, text: str):
    """A 3 s plucked tune given to ``text``: the tune, the semantic stage's
    :class:`StageInputs` of that piece, its first window, and its per-frame channel names."""
    from musiclm.stages.inputs import StageInputs, Window

    audio = _plucked(model.sample_rate, 100.0, [60, 64, 67, 72], seconds=3.0)
    conds = model.with_melody(model.conditions([text]), audio, 4.0, model.sample_rate)
    st = model.semantic
    inputs = StageInputs(st.layout, conds, model.device)
    names = [n for n, _ in st.layout.frame_channels]
    return audio, inputs, Window(0.0, 4.0, st.steps_for(50)), names


def test_guidance_can_keep_the_melody_in_its_unconditional_pass(melody_model):
    from musiclm.pipeline import GenerationOptions

    audio, inputs, window, names = _melody_inputs(melody_model, "pop")
    x = inputs(window, guided=True, keep_melody=True)
    j = names.index("melody")
    assert (x.uncond_per_frame[:, j] == x.per_frame[:, j]).all()  # the melody kept
    others = [i for i in range(len(names)) if i != j]
    assert (x.uncond_per_frame[:, others] == 0).all()  # the rest dropped, as trained
    assert inputs(window, guided=True).uncond_per_frame is None
    args = dict(seconds=4.0, seed=0, melody=(audio, melody_model.sample_rate))
    keep = GenerationOptions(guide_keeps_melody=True)
    a = melody_model.generate(["pop"], options=keep, **args)
    assert not np.array_equal(a, melody_model.generate(["pop"], **args))
    plain = GenerationOptions(cfg=1.0)  # no guidance: nothing to keep
    b = melody_model.generate(
        ["pop"], options=GenerationOptions(cfg=1.0, guide_keeps_melody=True), **args
    )
    assert np.array_equal(b, melody_model.generate(["pop"], options=plain, **args))


def test_default_temperatures_follow_the_input(melody_model, tmp_path):
    """From text the coarse stage samples at TEXT_TEMPERATURE, arranging a given melody or
    continuing a prompt at AUDIO_TEMPERATURE (measured, docs/model.md); temperatures given
    are kept."""
    from musiclm.pipeline import AUDIO_TEMPERATURE, TEXT_TEMPERATURE, GenerationOptions

    path = _write(tmp_path / "hum.wav", _plucked(SR, 120.0, [62, 66, 69, 74]))
    conds = melody_model.conditions(["calm piano"])
    text = melody_model.run(conds, 2.0, seed=0)
    tune = melody_model.run(melody_model.with_melody(conds, path, 2.0), 2.0, seed=0)
    assert text.options.temperature == TEXT_TEMPERATURE != AUDIO_TEMPERATURE
    assert tune.options.temperature == AUDIO_TEMPERATURE
    from musiclm import continuation

    prompt = melody_model.encode_prompt((_plucked(SR, 120.0, [60, 64, 67, 72])[: 2 * SR], SR))
    given = continuation.conditions(melody_model, None, prompt, None, None)
    made = melody_model.run(given, 3.0, seed=0, continue_from=prompt)
    assert made.options.temperature == AUDIO_TEMPERATURE
    mine = GenerationOptions(temperature=(0.9, 0.8, 0.7))
    assert melody_model.run(conds, 2.0, seed=0, options=mine).options.temperature == (
        0.9, 0.8, 0.7)  # fmt: skip
    # the coarse stage gets the resolved temperature
    assert GenerationOptions().resolved(follows_audio=True).for_stage(1, True).temperature == 0.95


def test_pitch_guidance_leaves_out_only_the_key_and_the_melody(melody_model):
    """GenerationOptions.pitch_cfg: a pass without the key token and the melody, all else
    as the conditional pass; 0 changes nothing. By default (None) pieces given a melody
    take MELODY_PITCH_CFG and others none (measured, docs/melody.md)."""
    from musiclm.pipeline import MELODY_PITCH_CFG, GenerationOptions
    from musiclm.stages.layout import NULL

    audio, inputs, window, names = _melody_inputs(melody_model, "pop in D major")
    x = inputs(window, guided=True, pitch=True)
    assert inputs(window, guided=True).pitchless_prefix is None
    differ = (x.prefix != x.pitchless_prefix).nonzero()
    assert len(differ) == 1 and x.pitchless_prefix[tuple(differ[0])] == NULL  # the key only
    j = names.index("melody")
    assert (x.per_frame[:, j] != 0).any() and (x.pitchless_per_frame[:, j] == 0).all()
    others = [i for i in range(len(names)) if i != j]
    assert (x.pitchless_per_frame[:, others] == x.per_frame[:, others]).all()
    args = dict(seconds=4.0, seed=0, melody=(audio, melody_model.sample_rate))
    off = melody_model.generate(["pop in D major"], options=GenerationOptions(pitch_cfg=0), **args)
    on = GenerationOptions(pitch_cfg=2.0)
    assert not np.array_equal(off, melody_model.generate(["pop in D major"], options=on, **args))
    given = melody_model.with_melody(melody_model.conditions(["pop"]), args["melody"], 4.0)
    default = melody_model.run(given, 4.0, seed=0)
    assert default.options.pitch_cfg == MELODY_PITCH_CFG
    assert melody_model.run(melody_model.conditions(["pop"]), 4.0, seed=0).options.pitch_cfg == 0
    with pytest.raises(UserError, match="pitch_cfg"):
        GenerationOptions(pitch_cfg=-1.0)


def test_the_semantic_stage_reads_a_given_melody_only_when_asked(melody_model, monkeypatch):
    """A user's melody conditions the coarse stage; the semantic stage follows the text
    unless GenerationOptions.semantic_melody (measured, docs/melody.md). Planned tunes
    condition both."""
    from musiclm.pipeline import GenerationOptions, MusicLM

    seen: list[tuple[str, list[bool]]] = []
    orig = MusicLM._part_inputs

    def spy(self, stage, timeline, *rest):
        name = {id(self.semantic): "semantic", id(self.coarse): "coarse"}.get(id(stage), "fine")
        seen.append((name, [c.melody is not None for p in timeline.parts for c in p]))
        return orig(self, stage, timeline, *rest)

    monkeypatch.setattr(MusicLM, "_part_inputs", spy)
    audio = _plucked(melody_model.sample_rate, 100.0, [60, 64, 67, 72], seconds=3.0)
    args = dict(seconds=4.0, seed=0, melody=(audio, melody_model.sample_rate))
    melody_model.generate(["pop"], **args)
    assert ("semantic", [False]) in seen and ("coarse", [True]) in seen
    seen.clear()
    melody_model.generate(["pop"], options=GenerationOptions(semantic_melody=True), **args)
    assert ("semantic", [True]) in seen and ("semantic", [False]) not in seen
    seen.clear()
    melody_model.generate(["pop"], seconds=4.0, seed=0)  # a planned tune: both stages
    assert ("semantic", [True]) in seen and ("coarse", [True]) in seen
