"""Whole songs: the window schedules of forms and stories, stitching, chunked decoding,
and the pipeline with debug-sized parts (form plans, reuse of a repeated section,
story mode, long pieces)."""

import numpy as np
import pytest
import torch

from musiclm import songs, windows
from musiclm.conditions import Section
from musiclm.errors import UserError
from musiclm.pipeline import MAX_SECONDS, STORY_CONTRAST, GenerationOptions, MusicLM
from musiclm.theory import key_index

# -- schedules ---------------------------------------------------------------------------


@pytest.mark.parametrize("total", [1, 49, 50, 51, 120, 333, 1000])
@pytest.mark.parametrize("window", [50, 250])
def test_song_windows_without_breaks_or_copies_are_the_sliding_windows(total, window):
    assert list(windows.song_windows(total, window)) == list(
        windows.semantic_windows(total, window)
    )


def test_song_windows_stop_at_breaks_and_restate_copies():
    plan = list(windows.song_windows(1000, 250, breaks=[300], copies=[windows.Copy(600, 200, 125)]))
    made, new_starts = 0, []
    for w in plan:
        if isinstance(w, windows.Copy):
            assert (w.start, w.src, w.frames) == (600, 200, 125) and made == 600
            made += w.frames
            continue
        assert w.start + w.keep == made and w.frames <= 250
        new_starts.append(made)
        assert not (made < 300 < made + w.new)  # no window's new frames cross the break
        made += w.new
    assert made == 1000 and 300 in new_starts and 725 in new_starts  # after the copy


@pytest.mark.parametrize("keep", [0, 25, 125])
def test_a_parts_first_window_keeps_break_keep_frames_of_the_part_before(keep):
    plan = list(windows.song_windows(1000, 250, breaks=[300], break_keep=keep))
    at = [w for w in plan if w.start + w.keep == 300]
    assert len(at) == 1 and at[0].keep == keep and at[0].frames <= 250
    others = [w for w in plan if w.start + w.keep not in (0, 300)]
    assert others and all(w.keep == 125 for w in others)  # half a window elsewhere
    assert sum(w.new for w in plan) == 1000


@pytest.mark.parametrize("keep, frames", [(0.0, 0), (0.4, 10), (None, 25)])
def test_story_keep_is_the_prompt_a_parts_first_semantic_window_gets(model, monkeypatch, keep,
                                                                     frames):  # fmt: skip
    prompts = []
    inner = model._sample

    def spy(stage, name, i, inputs, window, n, opts, g, call, prompt=None):
        if name == "semantic":
            prompts.append((window.start_s, 0 if prompt is None else prompt.shape[1]))
        return inner(stage, name, i, inputs, window, n, opts, g, call, prompt)

    monkeypatch.setattr(model, "_sample", spy)
    model.run(None, seconds=8.0, seed=2, story=model.story(STORY, 8.0),
              options=GenerationOptions(story_keep=keep))  # fmt: skip
    at_part = [p for s, p in prompts if abs(s + p / 25 - 4.0) < 1e-6]
    assert at_part == [frames]  # the debug stage's 25 Hz, 2 s windows
    assert all(p == 25 for s, p in prompts if s > 0 and abs(s + p / 25 - 4.0) > 1e-6)
    with pytest.raises(UserError, match="story_keep"):
        GenerationOptions(story_keep=-1.0)


def test_stitched_windows_overlap_and_take_over_at_breaks():
    total, window, overlap, lead = 2000, 500, 125, 25
    wins = windows.stitched_windows(total, window, overlap, lead, breaks=[700])
    assert wins[0].start == 0 and wins[0].fade_in == 0
    assert wins[-1].start + wins[-1].frames == total
    for a, b in zip(wins, wins[1:]):
        assert b.fade_in == b.start + lead  # a window is heard only after its lead
        end = a.start + a.frames
        assert b.fade_in < end and end - b.fade_in <= overlap - lead  # the overlap is heard
        assert a.frames <= window
    assert 700 in [w.fade_in for w in wins]  # a story part starts at a take-over
    spans = windows.stitched_windows(1234, 500, 0, 0)
    assert [(w.start, w.frames) for w in spans] == [(0, 500), (500, 500), (1000, 234)]


def test_stitch_crossfades_at_equal_power_and_keeps_each_window_alone_elsewhere():
    wins = windows.stitched_windows(300, 100, 40, 8)
    hop, fade = 4, 16
    ones = [torch.ones(w.frames * hop) for w in wins]
    power = torch.zeros(300 * hop)
    for k in range(len(wins)):  # one window at a time: the weights it is heard with
        alone = [x if j == k else torch.zeros_like(x) for j, x in enumerate(ones)]
        power += songs.stitch(alone, wins, fade, hop, 300) ** 2
    assert torch.allclose(power, torch.ones_like(power), atol=1e-5)
    y = songs.stitch(ones, wins, fade, hop, 300)
    take = wins[1].fade_in * hop
    assert torch.allclose(y[: take - 1], torch.ones(take - 1))  # the first window alone
    assert (y[take : take + fade * hop] > 1.0).any()  # both (correlated ones) in the fade


def test_copies_restate_a_repeated_sections_opening():
    form = (Section("intro", 0, 4), Section("chorus", 4, 12), Section("verse", 12, 20),
            Section("chorus", 20, 26), Section("tail", 26, 30))  # fmt: skip
    assert songs.copies(form, 25, 250) == (windows.Copy(500, 100, 125),)
    short = (Section("chorus", 0, 2), Section("verse", 2, 4), Section("chorus", 4, 5))
    assert songs.copies(short, 25, 250) == (windows.Copy(100, 0, 25),)
    assert songs.copies(None, 25, 250) == ()


def test_long_codes_decode_in_chunks_like_one_go(monkeypatch):
    monkeypatch.setattr(songs, "DECODE_CHUNK_S", 2.0)  # as 30 s chunks of 70 s, smaller
    monkeypatch.setattr(songs, "DECODE_OVERLAP_S", 0.25)
    torch.manual_seed(0)
    codec = MusicLM.debug().codec
    rate = codec.frame_rate
    short = torch.randint(0, codec.codebook_size, (codec.levels, 2 * rate))
    assert torch.equal(songs.decode(codec, short), codec.batch_decode(short[None])[0])
    long = torch.randint(0, codec.codebook_size, (codec.levels, round(4.6 * rate)))
    whole, chunked = codec.batch_decode(long[None])[0], songs.decode(codec, long)
    assert chunked.shape == whole.shape
    far = round(songs.DECODE_OVERLAP_S * rate) * codec.hop_length  # away from the joins
    joins = [round(s * rate) * codec.hop_length for s in (1.75, 3.5)]
    keep = torch.ones_like(whole, dtype=torch.bool)
    for j in joins:
        keep[j - far : j + 2 * far] = False
    assert torch.allclose(chunked[keep], whole[keep], atol=1e-4)
    assert torch.corrcoef(torch.stack([chunked, whole]))[0, 1] > 0.99


def test_overlap_is_checked_against_the_window():
    assert songs.overlap_for(10.0, None) == songs.OVERLAP_S
    assert songs.overlap_for(1.0, None) == 0.0  # the debug model's 1 s windows
    assert songs.overlap_for(1.0, 0.4) == 0.4
    with pytest.raises(UserError, match="overlap must be 0-0.5 s"):
        songs.overlap_for(1.0, 0.8)


# -- the pipeline ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    return MusicLM.debug(seed=0, attributes=True)


@pytest.fixture(scope="module")
def form_model():
    return MusicLM.debug(seed=0, attributes=True, form=True)


def _semantic_tokens(model, monkeypatch):
    seen = []
    inner = model._semantic

    def spy(*a, **kw):
        out = inner(*a, **kw)
        seen.append(out)
        return out

    monkeypatch.setattr(model, "_semantic", spy)
    return seen


def test_every_piece_gets_a_form_plan_by_its_seed(model):
    from musiclm.form import plan_form

    made = model.run(model.conditions(["a techno track", "a pop song"]), seconds=6.0, seed=4)
    for c, s in zip(made.conditions, (4, 5)):
        assert c.form == plan_form(c.text, 6.0, tempo=c.tempo, seed=s).sections
        assert c.form[-1].end == 6.0
    assert made.conditions[0].tempo is None  # today's stages take no form: tempo left as it was


def test_a_given_form_is_used_and_checked(model):
    import dataclasses

    given = dataclasses.replace(model.conditions(["pop"])[0], form=(Section("verse", 0, 2.9),))
    made = model.run([given], seconds=3.0, seed=0)
    assert made.conditions[0].form == (Section("verse", 0, 3.0),)  # snapped to the end
    raw = GenerationOptions(ending=False)  # the planned ending follows any plan
    a = model.generate("pop", seconds=3.0, seed=0, form="intro 1, verse 2", options=raw)
    b = model.generate("pop", seconds=3.0, seed=0, options=raw)
    assert np.array_equal(a, b)  # the form reaches only stages that take it
    with pytest.raises(UserError, match="adds up to 2 s"):
        model.generate("pop", seconds=3.0, seed=0, form="intro 1, verse 1")


def test_stages_that_take_form_see_it_and_reuse_a_repeated_sections_opening(
    form_model, monkeypatch
):
    seen = _semantic_tokens(form_model, monkeypatch)
    form = "intro 1, chorus 2, verse 2, chorus 2, tail 1"  # chorus again at 5 s
    a = form_model.generate("pop", seconds=8.0, seed=0, form=form)
    b = form_model.generate(
        "pop", seconds=8.0, seed=0, form="intro 1, verse 2, chorus 2, bridge 2, tail 1"
    )
    assert not np.array_equal(a, b)  # the sections reach the stages
    rate, keep = 25, form_model.semantic.config.target_frames // 2
    tokens = seen[0][0]
    assert torch.equal(tokens[5 * rate : 5 * rate + keep], tokens[1 * rate : 1 * rate + keep])
    made = form_model.run(form_model.conditions(["pop"]), seconds=8.0, seed=0)
    assert made.conditions[0].tempo is not None  # the plan's tempo: its bars are the sections'


def test_a_story_restates_a_section_only_within_its_part(form_model, monkeypatch):
    seen = _semantic_tokens(form_model, monkeypatch)
    form = "intro 1, chorus 2, verse 2, chorus 2, tail 1"  # chorus again at 5 s
    rate, keep = 25, form_model.semantic.config.target_frames // 2
    for cut, restated in ((6.0, True), (4.0, False)):  # the second part from 6 s or 4 s
        story = [(0, "pop"), (cut, "a calm piano")]
        form_model.generate(story=story, seconds=8.0, seed=0, form=form)
        tokens = seen[-1][0]
        same = torch.equal(tokens[5 * rate : 5 * rate + keep], tokens[rate : rate + keep])
        assert same == restated, cut


def test_pieces_with_different_plans_are_each_what_they_are_alone(form_model):
    texts = ["a techno track", "a pop song"]
    both = form_model.generate(texts, seconds=20.0, seed=3)
    for i, t in enumerate(texts):
        alone = form_model.generate([t], seconds=20.0, seed=3 + i)
        np.testing.assert_allclose(both[i], alone[0], atol=1e-5)


STORY = [(0, "whistling over a techno beat at 128 bpm"), (4, "a calm piano outro in E minor")]


def _windows_seen(model, monkeypatch):
    """(stage, window start s, texts of the conditions it was built from) per window."""
    import musiclm.pipeline as pipeline

    class Recording(pipeline.StageInputs):
        def __init__(self, layout, conditions, device, contrast=()):
            super().__init__(layout, conditions, device, contrast)
            self.texts = tuple(c.text for c in conditions)

    monkeypatch.setattr(pipeline, "StageInputs", Recording)
    seen = []
    inner = model._sample

    def spy(stage, name, i, inputs, window, *a, **kw):
        seen.append((name, window.start_s, inputs.texts, kw.get("prompt", a[-1] if a else None)))
        return inner(stage, name, i, inputs, window, *a, **kw)

    monkeypatch.setattr(model, "_sample", spy)
    return seen


def test_story_parts_condition_their_own_windows(model, monkeypatch):
    tokens = _semantic_tokens(model, monkeypatch)
    seen = _windows_seen(model, monkeypatch)
    story = model.generate(story=STORY, seconds=8.0, seed=2)
    assert story.shape == (1, 8 * model.sample_rate)
    a, b = (STORY[0][1],), (STORY[1][1],)
    sem = [(s, t) for n, s, t, _ in seen if n == "semantic"]
    coarse = [(s, t) for n, s, t, _ in seen if n == "coarse"]
    window = model.semantic.config.window_seconds
    # a semantic window's new frames start where its prompt ends (half a window in)
    for s, t in sem:
        new = s + (window / 2 if s > 0 else 0)
        assert t == (a if new < 4.0 else b), (s, t)
    for s, t in coarse:  # consecutive coarse windows, cut at the part's start (each row a
        assert set(t) == set(a if s < 4.0 else b), (s, t)  # draft: the piece's text)
    assert 4.0 in [s for s, _ in coarse]
    first = model.generate(STORY[0][1], seconds=8.0, seed=2)
    cut = 4 * 25
    assert torch.equal(tokens[0][0, :cut], tokens[1][0, :cut])  # the first part as alone
    assert not np.array_equal(story, first)
    parts = model.story(STORY, 8.0)
    assert parts[1].conditions.tempo == 128.0  # carried over: the text states none
    assert parts[0].conditions.key is None and parts[1].conditions.key is not None  # its own
    assert parts[1].conditions.text == STORY[1][1]
    made = model.run(None, seconds=8.0, seed=2, story=parts)
    np.testing.assert_array_equal(made.audio, story)
    assert [p.start for p in made.story] == [0, 4] and made.story[1].conditions.form


def test_story_windows_with_an_overlap_take_over_at_the_part(model, monkeypatch):
    seen = _windows_seen(model, monkeypatch)
    model.generate(story=STORY, seconds=6.0, seed=2, options=GenerationOptions(overlap=0.4))
    lead = round(0.4 * songs.LEAD * 250) / 250  # frames of the debug 250 Hz codec
    coarse = [(s, t) for n, s, t, _ in seen if n == "coarse"]
    for s, t in coarse:  # the part its take-over point lies in
        assert set(t) == {STORY[0][1] if s + lead < 4.0 - 1e-9 else STORY[1][1]}, (s, t)
    assert any(abs(s + lead - 4.0) < 1e-6 for s, _ in coarse)


def test_a_story_part_that_states_a_tempo_keeps_it(model):
    parts = model.story([(0, "techno at 128 bpm"), (2, "piano at 80 bpm"), (4, "drums")], 6.0)
    assert [p.conditions.tempo for p in parts] == [128.0, 80.0, 80.0]


@pytest.mark.parametrize(
    "story, needle",
    [
        ([(2, "a"), (4, "b")], "starts at 0 s"),
        ([(0, "a"), (4, "b"), (3, "c")], "part 3 starts at 3 s, not after part 2"),
        ([(0, "a"), (0, "b")], "starts must increase"),
        ([(0, "a"), (8, "b")], "past the end of the 8 s piece"),
        ([(0, "a"), (4, "  ")], "part 2 (at 4 s) has no text"),
        ([], "at least one part"),
        ([(0,)], "part 1 must be (start seconds, text)"),
    ],
)
def test_bad_stories_are_one_line(model, story, needle):
    with pytest.raises(UserError) as e:
        model.generate(story=story, seconds=8.0, seed=0)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_a_story_with_texts_is_refused(model):
    with pytest.raises(UserError, match="not both"):
        model.generate("x", story=STORY, seconds=8.0)


def test_seconds_above_the_maximum_are_refused_with_the_limit(model):
    with pytest.raises(UserError, match=f"{MAX_SECONDS:g}"):
        model.generate("x", seconds=MAX_SECONDS + 1)


def test_stitched_windows_make_the_whole_piece(model):
    """With an overlap (the bundled model's default; the debug model's 1 s windows take
    0.4 s), every stage still makes the whole piece, seeded, and the progress totals
    are the steps taken."""
    opts = GenerationOptions(overlap=0.4)
    seen = []
    a = model.generate(["techno", "piano"], seconds=4.3, seed=1, options=opts,
                       progress=lambda *x: seen.append(x))  # fmt: skip
    b = model.generate(["techno", "piano"], seconds=4.3, seed=1, options=opts)
    c = model.generate(["techno", "piano"], seconds=4.3, seed=1)
    assert a.shape == c.shape and np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.isfinite(a).all() and (np.abs(a[:, -100:]) > 0).any()
    for stage in ("semantic", "coarse", "fine"):
        done = [d for s, d, t in seen if s == stage]
        totals = {t for s, d, t in seen if s == stage}
        assert totals == {done[-1]}, stage


def test_a_long_piece_in_one_call(model, monkeypatch):
    """Past the decoder's chunk (made 10 s here) and the debug stages' 20 s of timing
    buckets: every second is made, and the end is not silence left unfilled."""
    monkeypatch.setattr(songs, "DECODE_CHUNK_S", 10.0)
    made = model.run(model.conditions(["a pop song"]), seconds=22.0, seed=0)
    assert made.audio.shape == (1, 22 * model.sample_rate) and np.isfinite(made.audio).all()
    assert (np.abs(made.audio[0, -model.sample_rate :]) > 0).mean() > 0.5
    assert [s.name for s in made.conditions[0].form][-1] == "tail"


def test_a_story_takes_a_form_of_its_own(form_model):
    import dataclasses

    from musiclm.form import parse_form

    story = [(0, "techno at 128 bpm"), (2, "a calm piano outro")]
    audio = form_model.generate(story=story, seconds=4.0, seed=0, form="intro 1, verse 2, tail 1")
    assert audio.shape == (1, 4 * form_model.sample_rate)
    parts = form_model.story(story, 4.0)
    plan = parse_form("intro 1, verse 2, tail 1", 4.0)
    made = form_model.run([dataclasses.replace(parts[0].conditions, form=plan)], 4.0, seed=0,
                          story=parts)  # fmt: skip
    assert made.conditions[0].form == plan and all(p.conditions.form == plan for p in made.story)
    with pytest.raises(UserError, match="a story is one piece"):
        form_model.run(form_model.conditions(["other text"]), 4.0, seed=0, story=parts)


def test_story_contrast_guides_away_from_the_neighbouring_parts_texts(model, monkeypatch):
    """GenerationOptions.story_contrast: each part's windows get one more pass per
    neighbouring part, its prefix the conditional one with that part's MuLan tokens; 0
    turns it off, and pieces that are no story are unchanged by it."""
    from musiclm.stages.inputs import StageInputs, Window

    three = [*STORY, (6, "a punk rock song")]
    timeline = songs.Timeline((0.0, 4.0, 6.0), tuple((p.conditions,) for p in
                                                     model.story(three, 8.0)))  # fmt: skip
    assert [len(timeline.neighbours(k)) for k in range(3)] == [1, 2, 1]
    assert timeline.neighbours(0)[0] is timeline.parts[1]
    lay = model.semantic.layout
    inputs = StageInputs(lay, timeline.parts[1], "cpu", timeline.neighbours(1))
    window = Window(4.0, 8.0, model.semantic.steps_for(10))
    x = inputs(window, guided=True, contrast=True)
    assert inputs(window, guided=True).contrast_prefixes == []
    assert len(x.contrast_prefixes) == 2
    n = lay.mulan_levels  # the MuLan tokens lead the prefix
    own = timeline.parts[1][0]
    for p, other in zip(x.contrast_prefixes, (timeline.parts[0], timeline.parts[2])):
        assert torch.equal(p[..., n:], x.prefix[..., n:])
        expected = lay.prefix(
            mulan=other[0].mulan[None], start_s=torch.tensor([4.0]),
            total_s=torch.tensor([8.0]), tempo=_tempo(own), key=_key(own),
        )  # fmt: skip
        assert torch.equal(p, expected)
    # the debug MuLan may give two texts the same first levels: then the passes agree
    assert any(not torch.equal(p, x.prefix) for p in x.contrast_prefixes)

    passes = []
    inner = model.semantic.generate

    def spy(prefix, frames, options, **kw):
        passes.append([w for _, _, w in kw.get("guides", ())])
        return inner(prefix, frames, options, **kw)

    monkeypatch.setattr(model.semantic, "generate", spy)
    story = model.story(three, 8.0)
    off = GenerationOptions(story_contrast=0.0)
    base = model.run(None, seconds=8.0, seed=1, story=story, options=off).audio
    assert all(p == [] for p in passes)
    passes.clear()
    on = GenerationOptions(story_contrast=2.0)
    made = model.run(None, seconds=8.0, seed=1, story=story, options=on).audio
    # the weight shared among a part's neighbours: the middle part has two
    assert [1.0, 1.0] in passes and [2.0] in passes
    assert all(p in ([2.0], [1.0, 1.0]) for p in passes)
    assert not np.array_equal(base, made)
    text = model.conditions(["a calm piano outro"])
    assert np.array_equal(model.run(text, 4.0, seed=1, options=off).audio,
                          model.run(text, 4.0, seed=1, options=on).audio)  # fmt: skip
    assert GenerationOptions().story_contrast == STORY_CONTRAST > 0
    with pytest.raises(UserError, match="story_contrast"):
        GenerationOptions(story_contrast=-1.0)


def _tempo(c):
    from musiclm.stages.attributes import tempo_bin

    return torch.tensor([tempo_bin(c.tempo) if c.tempo else -1])


def _key(c):
    return torch.tensor([c.key if c.key is not None else -1])


def test_each_story_part_plays_a_planned_tune_of_its_own_in_the_key_carried_on():
    """Story parts take a planned tune each, for their own text (measured: more parts
    nearer their own text, docs/songs.md), in the previous part's key and tempo unless
    their text states others; --no-tune leaves every part without one."""
    net = MusicLM.debug(seed=0, attributes=True, melody=True, form=True)
    parts = net.story([(0, "a calm pop song"), (15, "a loud techno track")], 30.0)
    made = net.run(None, seconds=30.0, seed=0, story=parts)
    first, second = (p.conditions for p in made.story)
    assert made.conditions[0].tune and made.conditions[0] is first  # the sidecar's piece
    assert first.tune and second.tune and first.melody is not None
    assert not np.array_equal(first.melody.numpy(), second.melody.numpy())  # its own text
    assert second.key == first.key and second.tempo == first.tempo  # carried on
    stated = net.story([(0, "a calm pop song"), (15, "techno in F# minor at 130 bpm")], 30.0)
    made = net.run(None, seconds=30.0, seed=0, story=stated)
    assert made.story[1].conditions.key == key_index("F#", "minor")
    assert made.story[1].conditions.tempo == 130
    off = net.run(None, seconds=30.0, seed=0, story=parts, options=GenerationOptions(tune=False))
    assert all(p.conditions.melody is None for p in off.story) and not off.conditions[0].tune
