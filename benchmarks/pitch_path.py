"""Where do the notes get lost? The acoustic stages given the *true* semantic tokens.

For held-out engine clips (never trained on) whose manifest key is major or minor, each
row decodes audio made another way and scores it against the clip's own notes:

- ``codec round trip`` — the true coarse + fine codes (the ceiling of any stage);
- ``coarse stage | true semantic`` — the clip's semantic tokens (the bundled semantic
  tokenizer) into the coarse stage (with the clip's first caption, key and tempo), then
  the fine stage: what a perfect semantic stage would give;
- ``+ melody`` — the same with the clip's score melody as the per-frame melody, for a
  coarse stage that takes one;
- ``text only`` — the whole pipeline from the caption (what ``musiclm generate`` gives);
- ``text + score melody`` — the same with the score melody, for stages that take one.

Scores: key match (the chroma key estimate of ``musiclm eval`` vs the manifest key),
key strength, frame-wise chroma correlation with the original (``eval.codec.metrics``:
energy-gated CQT chroma) and the MusicGen-style melody cosine when a melody is known
(the score melody's one-hot pitch class vs the output's normalised chroma, voiced
frames). If ``true semantic`` keeps the key but ``text only`` does not, the semantic
stage is where the key is lost.

    python benchmarks/pitch_path.py --heldout out/heldout [--model DIR] [--clips 12]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from musiclm.eval.codec import metrics
from musiclm.eval.melody import melody_cosine
from musiclm.eval.music import key_fit, normalise_key
from musiclm.io import read_audio
from musiclm.pipeline import GenerationOptions, MusicLM, _Call


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--heldout", type=Path, required=True, help="held-out engine corpus")
    ap.add_argument("--model", default=None, help="MusicLM folder (default: bundled)")
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from musiclm.semantic import SemanticTokenizer
    from musiclm.tokenize.tokenizers import score_melody

    model = MusicLM.from_pretrained(args.model)
    sem_tok = SemanticTokenizer.from_pretrained(None)
    codec, sr = model.codec, model.sample_rate

    def takes(stage) -> bool:
        return any(n == "melody" for n, _ in stage.layout.frame_channels)

    takes_melody = takes(model.coarse)
    opts = GenerationOptions()
    picked = []
    for line in (args.heldout / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r.get("mode") in ("major", "minor") and r.get("midi") and len(picked) < args.clips:
            picked.append(r)
    rows: dict[str, list[dict[str, float]]] = {}

    def score(name: str, y: np.ndarray, z: np.ndarray, key: str, mel: np.ndarray) -> None:
        est, strength = key_fit(z, sr)
        m = metrics(y, z, sr)
        rows.setdefault(name, []).append({
            "key match": float(est == key), "key strength": strength,
            "chroma r": m["chroma r"], "melody cosine": melody_cosine(mel, z, sr),
        })  # fmt: skip

    for i, r in enumerate(picked):
        y, _ = read_audio(args.heldout / r["audio"], sr)
        seconds = len(y) / sr
        key = normalise_key(f"{r['key']} {r['mode']}")
        mel = score_melody(args.heldout / r["midi"], seconds)
        score("original audio", y, y, key, mel)
        codes = codec.batch_encode(torch.from_numpy(y)[None])
        q = model.fine.layout.coarse_levels + model.fine.layout.fine_levels
        z = codec.batch_decode(codes[:, :q])[0].float().numpy()[: len(y)]
        score("codec round trip", y, z, key, mel)
        sem = torch.from_numpy(np.asarray(sem_tok.encode(y, sr))).long()[None]
        text = r["captions"][0]
        base = model.conditions([text], tempo=r.get("tempo"), key=key)[0]
        variants = [("coarse stage | true semantic", base)]
        if takes_melody:
            import dataclasses

            melody = torch.from_numpy(mel.astype(np.int64))
            variants.append(("+ melody", dataclasses.replace(base, melody=melody)))
        for name, cond in variants:
            g = [torch.Generator().manual_seed(args.seed + i)]
            call = _Call({}, None)
            with torch.inference_mode():
                coarse = model._coarse([cond], sem, seconds, opts, g, call)
                fine = model._fine(coarse, opts, g, call)
                z = codec.batch_decode(torch.cat([coarse, fine], 1))[0].float().numpy()
            score(name, y, z[: len(y)], key, mel)
        z = model.generate([text], seconds, seed=args.seed + i, key=key, tempo=r.get("tempo"))[0]
        score("text only (whole pipeline)", y, z, key, mel)
        if takes(model.semantic) or takes_melody:
            import dataclasses

            melody = torch.from_numpy(mel.astype(np.int64))
            cond = dataclasses.replace(base, melody=melody)
            z = model.run([cond], seconds, seed=args.seed + i).audio[0]
            score("text + score melody (whole pipeline)", y, z, key, mel)
        print(f"clip {i + 1}/{len(picked)}", flush=True)
    shown = ("key match", "key strength", "chroma r", "melody cosine")
    print(f"\n## Pitch through the stages, {len(picked)} held-out clips (`{args.heldout}`)\n")
    print("| audio | " + " | ".join(shown) + " |")
    print("|---|" + "---:|" * len(shown))
    for name, values in rows.items():
        means = [np.nanmean([v[k] for v in values]) for k in shown]
        print(f"| {name} | " + " | ".join(f"{m:.3f}" for m in means) + " |")


if __name__ == "__main__":
    main()
