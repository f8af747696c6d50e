# musiclm — one entry point for setup, the demo, tests and benchmarks.
#   make demo   set up, then generate the seed prompts with the bundled model (WAV + PNG)
#   make test   set up, then run the test suite
# GPU users: choose your own torch build, e.g.  make setup TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build on disk on our machines; an unpinned `torch` would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
DEMO   ?= out/demo_corpus
SEED_PROMPTS ?= ../shared/prompts/seed_prompts.txt

.SECONDARY:  # the targets below are steps, not files to clean up
.PHONY: setup demo corpus-demo test test-fast lint bench melodies corpus codec codec-v2 codec-v2-decoder vocoder mulan semantic codec-bench \
	corpus-more seed-corpus tokens v1-stages stage-semantic stage-coarse stage-fine stages model model-bench clean \
	corpus-melody corpus-songs tokens-mf stage-semantic-mf stage-coarse-mf stages-mf timing-bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/install_system_deps.sh
	bash scripts/install_system_deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev,ui]'
	# PESTO, the melody tracker (docs/melody.md), without torchaudio: PyPI's torchaudio is
	# a CUDA build that fails to load beside the CPU torch, and PESTO uses it only to read files
	$(BIN)/pip install -q --no-deps 'pesto-pitch==2.0.1'
	touch $@

demo: setup
	$(BIN)/musiclm generate --prompts $(SEED_PROMPTS) -o out/seed_prompts --seconds 10 --seed 0 --spectrogram
	@echo "listen: out/seed_prompts/*.wav   spectrograms: out/seed_prompts/*.png"

# Render a small captioned corpus (and its report): the data engine in a minute.
corpus-demo: setup
	$(BIN)/musiclm data synth $(DEMO) --clips 12 --seconds 10 --seed 0 --workers 2
	$(BIN)/musiclm data report $(DEMO) --out $(DEMO)/report > /dev/null
	@echo "listen: $(DEMO)/audio/0000/*.flac   captions: $(DEMO)/manifest.jsonl   report: $(DEMO)/report/report.md"

test: setup
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check src tests benchmarks

bench: setup
	$(BIN)/python benchmarks/synth_speed.py

# Re-extract the bundled melody cache from music21's corpus (minutes).
melodies: setup
	$(BIN)/musiclm data melodies

# The training corpus of every bundled model: engine seed 1 for training, seed 2 held out.
corpus: setup
	$(BIN)/musiclm data synth out/codec_corpus --clips 2000 --seconds 10 --seed 1 --workers 2 -q
	$(BIN)/musiclm data synth out/codec_val --clips 64 --seconds 10 --seed 2 --workers 2 -q

# Retrain the tiny codec from the synthetic corpus with fixed seeds (hours on 2 CPU cores;
# the run resumes if interrupted: rerun `make codec`).
CODEC_STEPS ?= 7000
codec: corpus
	$(BIN)/musiclm codec train --config tiny --data out/codec_corpus --val out/codec_val \
		--out out/codec_run --steps $(CODEC_STEPS) --seed 0 $$(test -d out/codec_run && echo --resume) \
		--export out/codec_run/final --fp16

# Codec v2 (magnitude-domain RVQ codec, phase by fast Griffin-Lim: keeps the notes;
# docs/codec.md), bundled as src/musiclm/assets/codec_v2. Resumable like `make codec`.
CODEC_V2_STEPS ?= 10000
codec-v2: corpus
	$(BIN)/musiclm codec train --config spectral --data out/codec_corpus --val out/codec_val \
		--out out/codec_v2 --steps $(CODEC_V2_STEPS) -b 16 --seconds 2 --seed 0 \
		$$(test -d out/codec_v2 && echo --resume) --export out/codec_v2/final --fp16

# The bundled v2's decoder, trained on for 3,600 more steps on the frozen encoder and
# codebooks (the codes, the codec version and every token stay as they were; docs/codec.md).
# From scratch it follows `make codec-v2`; the bundle ran it from the v2 bundled before it
# (`git show 6cdeffb:src/musiclm/assets/codec_v2/...` into a folder, then V2_INIT=folder).
V2_INIT ?= out/codec_v2/final
codec-v2-decoder: $(if $(filter out/codec_v2/final,$(V2_INIT)),codec-v2,corpus)
	$(BIN)/musiclm codec train --init-from $(V2_INIT) --decoder-only --data out/codec_corpus \
		--val out/codec_val --out out/codec_v2_dec --steps 3600 -b 16 --seconds 2 --lr 3e-4 \
		--seed 0 $$(test -d out/codec_v2_dec && echo --resume) --export out/codec_v2_dec/final --fp16

# Candidate (b) of codec v2: a learned vocoder after the frozen v2 decoder (docs/codec.md),
# HiFi-GAN losses; the CPU run measured there. Score it with
# `python benchmarks/codec_quality.py --model v2 --vocoder cpu=out/vocoder_cpu/final`.
VOCODER_STEPS ?= 1000
vocoder: corpus
	$(BIN)/musiclm codec train-vocoder --codec v2 --data out/codec_corpus --val out/codec_val \
		--out out/vocoder_cpu --steps $(VOCODER_STEPS) -b 8 --seconds 1 --seed 0 \
		$$(test -d out/vocoder_cpu && echo --resume) --export out/vocoder_cpu/final

# Retrain the tiny MuLan (frozen MiniLM text tower + our audio tower) the same way.
MULAN_STEPS ?= 700
mulan: corpus
	$(BIN)/musiclm mulan train --config tiny --data out/codec_corpus --val out/codec_val \
		--out out/mulan_run --steps $(MULAN_STEPS) -b 32 --seed 0 \
		$$(test -d out/mulan_run && echo --resume) --export out/mulan_run/final

# Refit the semantic tokenizer: iteration 0 (k-means on log-mel + chroma + onset
# features), then iteration 1 (a masked-prediction encoder trained on iteration 0's ids,
# k-means on its layer 2) — the bundled one, chosen over iteration 0 on held-out numbers
# (docs/semantic.md). ~35 min on 1 CPU thread.
semantic: corpus
	$(BIN)/musiclm semantic fit --data out/codec_corpus --out out/semantic_run -c tiny --seed 0
	$(BIN)/musiclm semantic fit --data out/codec_corpus --out out/semantic_it1 -i 1 \
		--from out/semantic_run -c small --steps 1500 --seed 0 --device cpu \
		$$(test -d out/semantic_it1/train && echo --resume)

# Four and a half times more of the engine (seed 4, never used elsewhere): with the corpus
# above and the seed prompts' clips below, 11,500 clips, 5x the 2,300 of the first stages.
corpus-more: setup
	$(BIN)/musiclm data synth out/corpus_more --clips 9200 --seconds 10 --seed 4 --workers 2 -q

# Clips that cover the seed prompts (shared/prompts/seed_prompts.txt), merged with the
# corpora above into out/train (a manifest only; the audio stays where it is).
seed-corpus: corpus corpus-more
	$(BIN)/musiclm data synth out/seed_violin808 --clips 100 --seed 11 --genre trap,hip_hop --lead violin --workers 2 -q
	$(BIN)/musiclm data synth out/seed_humrock --clips 100 --seed 12 --genre rock --arrangement "only humming" --workers 2 -q
	$(BIN)/musiclm data synth out/seed_whistechno --clips 100 --seed 13 --genre techno --arrangement "only whistling" --workers 2 -q
	$(BIN)/musiclm data merge out/train out/codec_corpus out/corpus_more out/seed_violin808 out/seed_humrock out/seed_whistechno

# Token files of the training and validation corpora: acoustic tokens of codec v2 (the
# bundled model's codec), the bundled MuLan (audio tokens per 10 s window, and the tokens
# of every caption) and the bundled semantic tokenizer. Resumable.
STAGE_CODEC ?= v2
TOKEN_KINDS := acoustic,semantic,mulan,captions,attributes
tokens: seed-corpus
	$(BIN)/musiclm tokenize out/codec_val -o out/tokens_val --kinds $(TOKEN_KINDS) --codec $(STAGE_CODEC) --workers 2 -q
	$(BIN)/musiclm tokenize out/train -o out/tokens --kinds $(TOKEN_KINDS) --codec $(STAGE_CODEC) --workers 2

# The stages of the first bundle (codec v1 tokens, 2,300 clips), as committed at V1_REV;
# their recipe is that revision's Makefile (`git show $(V1_REV):Makefile`). Every stage
# below starts from its counterpart there: the tempo, key, beat-grid and alignment
# pathways carry over; the acoustic stages relearn their (new) vocabulary.
# (`make model` needs this repository's history for it: not a shallow clone.)
V1_REV ?= 248b2da
V1_STAGES := out/v1_stages/src/musiclm/assets/musiclm
v1-stages:
	test -d $(V1_STAGES)/coarse || (mkdir -p out/v1_stages && git archive $(V1_REV) src/musiclm/assets/musiclm | tar -x -C out/v1_stages)

# The acoustic stages on the 11,500-clip corpus: coarse (codec v2 levels 1-4) and fine
# (5-8) learn v2's tokens. Levels 9-12 add nothing measurable to v2's round trip
# (docs/codec.md), so they are not generated. The bundled semantic stage is the first
# bundle's (its tokens do not depend on the codec): `make stage-semantic` trains it on
# for 1,000 steps on the larger corpus — lower validation CE, but lower key strength and
# fewer instruments heard in its pieces (docs/model.md), so it is not bundled. The
# semantic and coarse stages take the first MULAN_LEVELS MuLan levels, a caption's for
# TEXT_COND of the examples (docs/model.md), and tempo, key and the beat grid. Every run
# resumes if interrupted: rerun the target.
MULAN_LEVELS ?= 4
TEXT_COND ?= 0.8
SEMANTIC_STEPS ?= 1000
SEMANTIC_LR ?= 3e-4
COARSE_STEPS ?= 1000
FINE_STEPS ?= 1200
ACOUSTIC_LR ?= 1e-3
STAGE_ARGS = --tokens out/tokens --val out/tokens_val -c tiny --seed 0 \
	--mulan-levels $(MULAN_LEVELS) --text-cond $(TEXT_COND) --fp16
ACOUSTIC_ARGS = $(STAGE_ARGS) --coarse-levels 4 --fine-levels 4 --lr $(ACOUSTIC_LR)
stage-semantic: tokens v1-stages
	$(BIN)/musiclm stage train semantic $(STAGE_ARGS) --attributes --beats --steps $(SEMANTIC_STEPS) \
		--lr $(SEMANTIC_LR) --init-from $(V1_STAGES)/semantic --out out/stage_semantic \
		$$(test -d out/stage_semantic && echo --resume) --export out/stage_semantic/final
stage-coarse: tokens v1-stages
	$(BIN)/musiclm stage train coarse $(ACOUSTIC_ARGS) --attributes --beats --steps $(COARSE_STEPS) \
		--init-from $(V1_STAGES)/coarse --out out/stage_coarse $$(test -d out/stage_coarse && echo --resume) \
		--export out/stage_coarse/final
stage-fine: tokens v1-stages
	$(BIN)/musiclm stage train fine $(ACOUSTIC_ARGS) --steps $(FINE_STEPS) \
		--init-from $(V1_STAGES)/fine --out out/stage_fine $$(test -d out/stage_fine && echo --resume) \
		--export out/stage_fine/final
stages: stage-coarse stage-fine

# Melody, form and timing (docs/melody.md, docs/songs.md): 3,000 fresh 10 s clips (their
# MIDI gives each frame's melody note) and 117 whole songs of 30 s to 5 min (their
# manifests give the sections), seeds never used elsewhere; validation from two more seeds.
corpus-melody: setup
	$(BIN)/musiclm data synth out/mel --clips 3000 --seconds 10 --seed 21 --workers 2 -q
	$(BIN)/musiclm data synth out/val_mel --clips 150 --seconds 10 --seed 22 --workers 2 -q
corpus-songs: setup
	$(BIN)/musiclm data synth out/songs_30 --clips 40 --seconds 30 --seed 31 --workers 2 -q
	$(BIN)/musiclm data synth out/songs_60 --clips 30 --seconds 60 --seed 32 --workers 2 -q
	$(BIN)/musiclm data synth out/songs_120 --clips 20 --seconds 120 --seed 33 --workers 2 -q
	$(BIN)/musiclm data synth out/songs_180 --clips 15 --seconds 180 --seed 34 --workers 2 -q
	$(BIN)/musiclm data synth out/songs_300 --clips 12 --seconds 300 --seed 35 --workers 2 -q
	$(BIN)/musiclm data synth out/val_songs --clips 8 --seconds 90 --seed 36 --workers 2 -q
tokens-mf: corpus-melody corpus-songs
	$(BIN)/musiclm data merge out/mf out/mel out/songs_30 out/songs_60 out/songs_120 out/songs_180 out/songs_300
	$(BIN)/musiclm data merge out/valmf out/val_mel out/val_songs
	$(BIN)/musiclm tokenize out/valmf -o out/tokval --kinds $(TOKEN_KINDS),melody,form --codec $(STAGE_CODEC) --workers 2 -q
	$(BIN)/musiclm tokenize out/mf -o out/tok --kinds $(TOKEN_KINDS),melody,form --codec $(STAGE_CODEC) --workers 2

# The semantic and coarse stages that take the melody (per frame, dropped for half the
# examples so text alone still works), the section and the time to the end, warm-started
# from the stages above (MF_SEMANTIC_INIT, MF_COARSE_INIT: the bundled first bundle's
# semantic stage and `make stage-coarse`'s coarse stage; pass the bundled copies to skip
# retraining those). The fine stage takes neither and stays. Resumable.
MF_SEMANTIC_INIT ?= $(V1_STAGES)/semantic
MF_COARSE_INIT ?= out/stage_coarse/final
MF_SEMANTIC_STEPS ?= 600
MF_COARSE_STEPS ?= 300
MF_ARGS = --tokens out/tok --val out/tokval -c tiny --seed 0 --mulan-levels $(MULAN_LEVELS) \
	--text-cond $(TEXT_COND) --fp16 --attributes --beats --melody --form --per-window --lr 3e-4
stage-semantic-mf: tokens-mf v1-stages
	$(BIN)/musiclm stage train semantic $(MF_ARGS) --steps $(MF_SEMANTIC_STEPS) \
		--init-from $(MF_SEMANTIC_INIT) --out out/s1 $$(test -d out/s1 && echo --resume) --export out/s1/final
stage-coarse-mf: tokens-mf
	$(BIN)/musiclm stage train coarse $(MF_ARGS) --coarse-levels 4 --fine-levels 4 --steps $(MF_COARSE_STEPS) \
		--init-from $(MF_COARSE_INIT) --out out/c1 $$(test -d out/c1 && echo --resume) --export out/c1/final
stages-mf: stage-semantic-mf stage-coarse-mf

# The bundled text-to-music model: the melody/form semantic and coarse stages (above,
# warm-started from the first bundle's semantic stage and `make stage-coarse`'s coarse
# stage) and `make stage-fine`'s fine stage, beside codec v2 and the bundled MuLan
# (pipeline.json points at them). `make corpus codec-v2 mulan semantic model` retrains all
# (the acoustic stages from the first bundle's; see v1-stages).
ASSETS := src/musiclm/assets
model: stages stages-mf
	rm -rf $(ASSETS)/musiclm/semantic $(ASSETS)/musiclm/coarse $(ASSETS)/musiclm/fine
	mkdir -p $(ASSETS)/musiclm
	cp -r out/s1/final $(ASSETS)/musiclm/semantic
	cp -r out/c1/final $(ASSETS)/musiclm/coarse
	cp -r out/stage_fine/final $(ASSETS)/musiclm/fine
	printf '{"format_version": 1, "parts": {"codec": "../codec_v2", "mulan": "../mulan"}}\n' > $(ASSETS)/musiclm/pipeline.json

# The timing-encoding comparison of docs/songs.md: the bundled semantic stage fine-tuned
# on engine songs (corpus-songs' 30-120 s ones) with and without the seconds-left
# channel, scored on held-out songs.
timing-bench: corpus-songs
	$(BIN)/musiclm data synth out/val_songs2 --clips 24 --seconds 45 --seed 37 --workers 2 -q
	test -f out/ms/manifest.jsonl || $(BIN)/musiclm data merge out/ms out/songs_30 out/songs_60 out/songs_120
	$(BIN)/musiclm tokenize out/ms -o out/tok_s --kinds $(TIMING_KINDS) --workers 2 -q
	$(BIN)/musiclm tokenize out/val_songs -o out/tokval_s --kinds $(TIMING_KINDS) --workers 2 -q
	$(BIN)/musiclm tokenize out/val_songs2 -o out/tokval_s2 --kinds $(TIMING_KINDS) --workers 2 -q
	$(BIN)/python benchmarks/timing_encoding.py --tokens out/tok_s --val out/tokval_s \
		--val out/tokval_s2 --steps 150 --out out/timing_bench
TIMING_KINDS := semantic,mulan,captions,attributes,melody,form

# Speed of the bundled model: end to end (RTF, per stage, peak memory) and per step.
model-bench: setup
	$(BIN)/python benchmarks/generate_speed.py
	$(BIN)/python benchmarks/stage_speed.py --preset tiny

# v1 and v2 side by side on the same held-out clips, Opus 6/12 kbps beside (note F1 needs
# `pip install '.[notes]'`, whose TensorFlow downgrades numpy and breaks the studio's
# pandas: use a venv of its own; docs/codec.md).
codec-bench: setup
	$(BIN)/python benchmarks/codec_quality.py --model v1=v1 --model v2=v2 --clips 24 --seconds 5

clean:
	rm -rf out .pytest_cache
