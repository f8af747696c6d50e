"""How much music the semantic tokens carry, measured against each clip's score.

For one or more fitted tokenizers (e.g. iteration 0 and iteration 1), on a corpus made by
`musiclm data synth` (it needs the manifest's `midi` and `sections`), it prints:

(a) labels: purity and normalised mutual information (NMI, arithmetic normalisation) of
    the tokens against per-frame labels from the MIDI: the pitch class with the most
    sounding velocity ("pc"), the best-matching major/minor triad template ("chord", 24
    chords + none), and the clip's section (intro/verse/...). Purity rises with the number
    of clusters in use, so a "shuffled" row (the same tokens permuted over frames: same
    vocabulary use, no relation to the music) anchors each tokenizer's chance level.
(b) arrangement invariance: every piece's MIDI is rendered twice through FluidSynth, with
    its own programs and with every pitched part moved to another instrument family
    (drums kept). "same piece" is the share of frames whose tokens agree between the two
    renderings; "other piece" the same share between renderings of different pieces.
    "dist ratio" compares representation distances (same piece / other piece; lower is
    more invariant, 1 means arrangement matters as much as the piece).

    python benchmarks/semantic_tokens.py --data corpus --model sem0 --model sem1
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from musiclm.data.manifest import ClipRecord, read_manifest, resolve
from musiclm.data.synth.render import find_soundfont, normalise
from musiclm.io import read_audio
from musiclm.semantic import SemanticTokenizer

NO_LABEL = "none"
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Programs to move pitched parts to: one per GM family, far apart in timbre.
POOL = (0, 19, 24, 30, 40, 48, 56, 65, 73, 81, 89, 11)
BASSES = (32, 33, 34, 38, 39, 43)


# ---- labels from the score -----------------------------------------------------------------


def frame_chroma(pm, frames: int, rate: int) -> np.ndarray:
    """(frames, 12) summed velocity of pitched notes sounding at each frame's centre."""
    chroma = np.zeros((frames, 12))
    centres = (np.arange(frames) + 0.5) / rate
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        for n in inst.notes:
            on = (centres >= n.start) & (centres < n.end)
            chroma[on, n.pitch % 12] += n.velocity
    return chroma


def chord_templates() -> tuple[np.ndarray, list[str]]:
    """(24, 12) unit-norm major and minor triads, and their names."""
    rows, names = [], []
    for root in range(12):
        for quality, third in (("", 4), ("m", 3)):
            t = np.zeros(12)
            t[[root, (root + third) % 12, (root + 7) % 12]] = 1
            rows.append(t / np.sqrt(3))
            names.append(PITCH_CLASSES[root] + quality)
    return np.array(rows), names


def labels_of(record: ClipRecord, data: Path, frames: int, rate: int) -> dict[str, list[str]]:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(resolve(data, record.midi)))
    chroma = frame_chroma(pm, frames, rate)
    silent = chroma.sum(1) == 0
    pc = [NO_LABEL if s else PITCH_CLASSES[i] for s, i in zip(silent, chroma.argmax(1))]
    templates, names = chord_templates()
    unit = chroma / np.maximum(np.linalg.norm(chroma, axis=1, keepdims=True), 1e-9)
    chord = [NO_LABEL if s else names[i] for s, i in zip(silent, (unit @ templates.T).argmax(1))]
    section = []
    for t in (np.arange(frames) + 0.5) / rate:
        hit = [s.name for s in record.sections if s.start <= t < s.end]
        section.append(hit[0] if hit else NO_LABEL)
    return {"pc": pc, "chord": chord, "section": section}


# ---- scores --------------------------------------------------------------------------------


def purity(tokens: np.ndarray, labels: np.ndarray) -> float:
    """Share of frames whose token's most common label is their own."""
    _, lab = np.unique(labels, return_inverse=True)
    table = np.zeros((tokens.max() + 1, lab.max() + 1))
    np.add.at(table, (tokens, lab), 1)
    return float(table.max(1).sum() / len(tokens))


def nmi(tokens: np.ndarray, labels: np.ndarray) -> float:
    """I(T; L) / ((H(T) + H(L)) / 2), as scikit-learn's default."""
    _, tok = np.unique(tokens, return_inverse=True)
    _, lab = np.unique(labels, return_inverse=True)
    joint = np.zeros((tok.max() + 1, lab.max() + 1))
    np.add.at(joint, (tok, lab), 1)
    joint /= joint.sum()
    pt, pl = joint.sum(1), joint.sum(0)

    def entropy(p):
        p = p[p > 0]
        return float(-(p * np.log(p)).sum())

    nz = joint > 0
    mi = float((joint[nz] * np.log(joint[nz] / np.outer(pt, pl)[nz])).sum())
    denom = (entropy(pt) + entropy(pl)) / 2
    return mi / denom if denom > 0 else 1.0


# ---- re-rendering a score with other instruments -------------------------------------------


def rearranged(pm, rng: np.random.Generator):
    """A copy of ``pm`` whose pitched parts use programs of other GM families."""
    import copy

    out = copy.deepcopy(pm)
    for inst in out.instruments:
        if inst.is_drum:
            continue
        bass = "bass" in inst.name.lower() or 32 <= inst.program < 40
        pool = [p for p in (BASSES if bass else POOL) if p // 8 != inst.program // 8]
        inst.program = int(rng.choice(pool))
    return out


def render_midi(pm, sample_rate: int, soundfont: str, seconds: float) -> np.ndarray:
    """Mono float32 of ``pm`` through a fresh FluidSynth (deterministic), loudness-normalised
    like the corpus (musiclm.data.synth.render.normalise)."""
    import fluidsynth

    synth = fluidsynth.Synth(samplerate=float(sample_rate), gain=0.25)
    try:
        sfid = synth.sfload(soundfont)
        events = []
        free = [c for c in range(16) if c != 9]
        for inst in pm.instruments:
            ch = 9 if inst.is_drum else free.pop(0)
            synth.program_select(ch, sfid, 128 if inst.is_drum else 0, inst.program)
            for n in inst.notes:
                events.append((int(n.start * sample_rate), 1, ch, n.pitch, n.velocity))
                events.append((max(int(n.end * sample_rate), 1), 0, ch, n.pitch, 0))
        events.sort()
        total, pos, chunks = int(seconds * sample_rate), 0, []
        for s, on, ch, key, vel in events:
            if s >= total:
                break
            if s > pos:
                chunks.append(synth.get_samples(s - pos))
                pos = s
            synth.noteon(ch, key, vel) if on else synth.noteoff(ch, key)
        if total > pos:
            chunks.append(synth.get_samples(total - pos))
    finally:
        synth.delete()
    stereo = np.concatenate(chunks).reshape(-1, 2).astype(np.float32) / 32768.0
    return normalise(stereo.mean(1)[:total], sample_rate)


# ---- the benchmark -------------------------------------------------------------------------


def label_scores(tok: SemanticTokenizer, clips, shuffle_seed: int | None = None) -> dict:
    tokens, labels = [], {"pc": [], "chord": [], "section": []}
    for audio, rate, lab in clips:
        t = tok.encode(audio, rate)
        n = min(len(t), len(lab["pc"]))
        tokens.append(t[:n])
        for k in labels:
            labels[k] += lab[k][:n]
    tokens = np.concatenate(tokens)
    if shuffle_seed is not None:
        tokens = np.random.default_rng(shuffle_seed).permutation(tokens)
    out = {"used": len(np.unique(tokens))}
    for k, v in labels.items():
        v = np.asarray(v)
        out[f"{k} purity"] = purity(tokens, v)
        out[f"{k} NMI"] = nmi(tokens, v)
    return out


def invariance(tok: SemanticTokenizer, pairs: list[tuple[np.ndarray, np.ndarray]], rate: int):
    """Token agreement and representation distance: two arrangements of one piece vs. the
    original arrangements of two different pieces (piece i against piece i + 1)."""
    feats = [(tok.features(a, rate), tok.features(b, rate)) for a, b in pairs]
    toks = [(tok.tokens_from_features(a), tok.tokens_from_features(b)) for a, b in feats]
    reps = [(tok.represent(a), tok.represent(b)) for a, b in feats]
    same, other, d_same, d_other = [], [], [], []
    for i in range(len(pairs)):
        j = (i + 1) % len(pairs)
        n = min(len(toks[i][0]), len(toks[j][0]))
        same.append(float(np.mean(toks[i][0] == toks[i][1])))
        other.append(float(np.mean(toks[i][0][:n] == toks[j][0][:n])))
        d_same.append(float(torch.linalg.norm(reps[i][0] - reps[i][1], dim=1).mean()))
        d_other.append(float(torch.linalg.norm(reps[i][0][:n] - reps[j][0][:n], dim=1).mean()))
    return {
        "same piece": float(np.mean(same)),
        "other piece": float(np.mean(other)),
        "dist ratio": float(np.mean(d_same) / max(np.mean(d_other), 1e-9)),
    }


def print_table(title: str, rows: dict[str, dict[str, float]]) -> None:
    cols = list(next(iter(rows.values())))
    width = max(len(r) for r in rows) + 2
    widths = [max(8, len(c) + 2) for c in cols]
    print(f"\n{title}")
    print("".ljust(width) + "".join(c.rjust(w) for c, w in zip(cols, widths)))
    for name, row in rows.items():
        cells = [
            (str(v) if isinstance(v, int) else f"{v:.3f}" if math.isfinite(v) else "nan").rjust(w)
            for v, w in zip(row.values(), widths)
        ]
        print(name.ljust(width) + "".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, required=True, help="corpus folder (manifest with midi)")
    ap.add_argument(
        "--model", action="append", required=True, help="tokenizer folder (repeat to compare)"
    )
    ap.add_argument("--clips", type=int, default=200, help="clips for the label scores")
    ap.add_argument("--pieces", type=int, default=24, help="pieces re-rendered for (b)")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of each clip to use")
    ap.add_argument("--soundfont", default=None, help="General MIDI .sf2 (default: FluidR3_GM)")
    ap.add_argument("--seed", type=int, default=0, help="picks the new instruments")
    args = ap.parse_args()
    torch.set_grad_enabled(False)

    records = [r for r in read_manifest(args.data) if r.midi]
    if not records:
        raise SystemExit(
            f"{args.data}: no clip has a MIDI score (use a `musiclm data synth` corpus)"
        )
    toks = {m: SemanticTokenizer.from_pretrained(m) for m in args.model}
    rate = 25  # label frames per second; every tokenizer here must share it
    if any(t.frame_rate != rate for t in toks.values()):
        raise SystemExit("this benchmark expects 25 Hz tokenizers")

    clips = []
    for r in records[: args.clips]:
        audio, sr = read_audio(resolve(args.data, r.audio), seconds=args.seconds)
        frames = -(-len(audio) * rate // sr)
        clips.append((audio, sr, labels_of(r, args.data, frames, rate)))
    rows = {}
    for name, tok in toks.items():
        label = f"{Path(name).name} (it {tok.config.iteration}, K {tok.codebook_size})"
        rows[label] = label_scores(tok, clips)
        rows[f"  shuffled {Path(name).name}"] = label_scores(tok, clips, shuffle_seed=args.seed)
    print_table(f"(a) tokens vs. score labels, {len(clips)} clips", rows)

    import pretty_midi

    sf2, sr = str(find_soundfont(args.soundfont)), 16000
    rng = np.random.default_rng(args.seed)
    pairs = []
    for r in records[: args.pieces]:
        pm = pretty_midi.PrettyMIDI(str(resolve(args.data, r.midi)))
        seconds = min(args.seconds, r.seconds)
        pairs.append(
            (render_midi(pm, sr, sf2, seconds), render_midi(rearranged(pm, rng), sr, sf2, seconds))
        )
    rows = {
        f"{Path(n).name} (it {t.config.iteration})": invariance(t, pairs, sr)
        for n, t in toks.items()
    }
    print_table(f"(b) arrangement invariance, {len(pairs)} pieces x 2 renderings", rows)


if __name__ == "__main__":
    main()
