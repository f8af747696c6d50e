"""Where along the pipeline do generated pieces lose their key? One held-out set, each
stage fed the truth up to it.

For the first ``--n`` held-out engine clips with a major or minor key (never trained
on), the chroma key estimate of ``musiclm eval`` (key right, key strength) of:

1. the real clip (the ceiling);
2. its codec round trip at the levels the stages model (coarse + fine);
3. its true coarse codes alone (the fine levels left out);
4. its true coarse codes + the fine stage's levels;
5. its true semantic tokens + the coarse and fine stages (conditions from its caption,
   as ``generate`` makes them: key, tempo, form; with and without the planned tune);
6. the whole pipeline from the caption (what ``generate`` gives).

A row that drops from the one above names the part that loses the key. Settings that
rows 5 and 6 share: ``--coarse-t``, ``--cfg``, the default ``GenerationOptions``.

    python benchmarks/key_path.py --heldout out/heldout [--model DIR] [--n 16]
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from musiclm import songs
from musiclm.devices import generator
from musiclm.eval.music import key_fit, keyed_captions
from musiclm.io import read_audio
from musiclm.pipeline import GenerationOptions, MusicLM, _Call


def _decode(model: MusicLM, codes: torch.Tensor) -> list[np.ndarray]:
    return [songs.decode(model.codec, c).float().numpy() for c in codes]


def _from_semantic(model: MusicLM, texts, sem, seconds, seeds, opts) -> list[np.ndarray]:
    """Rows 5: the coarse and fine stages on given semantic tokens, as ``run`` does."""
    conds = model.conditions(texts, mulan=True)
    conds = model.with_forms(conds, seconds, seeds)
    if opts.tune:
        conds = model.with_tunes(conds, seconds, seeds)
    g = [generator(model.device, s) for s in seeds]
    call = _Call(model.plan_steps(len(conds), seconds), None)
    timeline = songs.Timeline.single(conds)
    overlap = songs.overlap_for(model.coarse.config.window_seconds, opts.overlap)
    if overlap:
        pieces = model._stitched(timeline, sem, seconds, overlap, opts, g, call)
    else:
        coarse = model._coarse(timeline, sem, seconds, opts, g, call)
        pieces = model._decode(coarse, model._fine(coarse, opts, g, call), call)
    return [p.float().numpy() for p in pieces]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--heldout", type=Path, required=True, help="held-out engine corpus")
    ap.add_argument("--model", default=None, help="MusicLM folder (default: the bundled one)")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--semantic-t", type=float, default=None, help="semantic temperature")
    ap.add_argument("--coarse-t", type=float, default=None, help="coarse temperature")
    ap.add_argument("--cfg", type=float, default=None)
    ap.add_argument("--pitch-cfg", type=float, default=None, help="guidance toward key + tune")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", default="1,2,3,4,5,6", help="which rows, e.g. 1,5,6")
    ap.add_argument("--top-k", type=int, default=None, help="coarse top-k (0: all)")
    ap.add_argument(
        "--drafts",
        type=int,
        default=None,
        help="coarse drafts per window, rows 5-6 (default: the pipeline's)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    picked, keys, texts = keyed_captions(args.heldout, args.n)
    model = MusicLM.from_pretrained(args.model)
    sr = model.sample_rate
    opts = GenerationOptions()
    t = opts.resolved().temperature
    t = (t[0] if args.semantic_t is None else args.semantic_t,
         t[1] if args.coarse_t is None else args.coarse_t, t[2])  # fmt: skip
    opts = dataclasses.replace(opts, temperature=t)
    if args.cfg is not None:
        opts = dataclasses.replace(opts, cfg=args.cfg)
    if args.pitch_cfg is not None:
        opts = dataclasses.replace(opts, pitch_cfg=args.pitch_cfg)
    if args.drafts is not None:
        opts = dataclasses.replace(opts, drafts=args.drafts)
    if args.top_k is not None:
        k = opts.top_k
        opts = dataclasses.replace(opts, top_k=(k[0], args.top_k, k[2]))
    want = {int(x) for x in args.rows.split(",")}
    n = round(args.seconds * sr)
    audio = [read_audio(args.heldout / r["audio"], sr)[0][:n] for r in picked]
    qc = model.fine.layout.coarse_levels
    levels = qc + model.fine.layout.fine_levels
    codes = torch.stack(
        [torch.from_numpy(model.codec.encode(a, sr, n_levels=levels)).long() for a in audio]
    )
    sem_rate = model.semantic.layout.semantic_rate
    ks = round(args.seconds * sem_rate)
    tok = model.semantic_tokenizer
    sem = torch.stack([torch.from_numpy(tok.encode(a, sr)[:ks].astype(np.int64)) for a in audio])
    seeds = [args.seed + i for i in range(len(texts))]
    rows: list[tuple[str, list[np.ndarray]]] = []
    if 1 in want:
        rows.append(("1. real clip (ceiling)", audio))
    if 2 in want:
        rows.append((f"2. codec round trip, {levels} levels", _decode(model, codes)))
    if 3 in want:
        rows.append((f"3. true coarse codes ({qc} levels) alone", _decode(model, codes[:, :qc])))
    with torch.no_grad():
        g = [generator(model.device, s) for s in seeds]
        if 4 in want:
            fine = model._fine(codes[:, :qc], opts, g)
            both = torch.cat([codes[:, :qc], fine], 1)
            rows.append(("4. true coarse + fine stage", _decode(model, both)))
        for tune in (False, True) if model.takes_melody and 5 in want else (False,) * (5 in want):
            o = dataclasses.replace(opts, tune=tune)
            made = _from_semantic(model, texts, sem, args.seconds, seeds, o)
            rows.append((f"5. true semantic + coarse + fine{', planned tune' if tune else ''}",
                         made))  # fmt: skip
        if 6 in want:
            made = model.generate(texts, seconds=args.seconds, seed=seeds, options=opts)
            rows.append(("6. the whole pipeline from the caption", list(made)))
    print(f"## Key along the pipeline: {len(texts)} held-out clips (`{args.heldout}`), "
          f"{args.seconds:g} s, seed {args.seed}, {args.model or 'bundled'}, "
          f"temperatures {opts.temperature}, top-k {opts.top_k}, cfg {opts.cfg:g}, "
          f"pitch cfg {opts.pitch_weight:g}, drafts {opts.resolved().drafts}\n")  # fmt: skip
    print("| audio | key right | key strength (mean) | commonest key read |\n|---|---:|---:|---|")
    for name, pieces in rows:
        fits = [key_fit(p, sr) for p in pieces]
        right = sum(est == key for (est, _), key in zip(fits, keys))
        common, count = Counter(est for est, _ in fits).most_common(1)[0]
        print(f"| {name} | {right} of {len(keys)} | {np.mean([s for _, s in fits]):.3f} "
              f"| {common} ({count} of {len(fits)}) |")  # fmt: skip
    common, count = Counter(keys).most_common(1)[0]
    print(f"\nThe captions' commonest key: {common} ({count} of {len(keys)}).")


if __name__ == "__main__":
    main()
