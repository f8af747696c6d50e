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

.SECONDARY:  # stage-% and attr-% are steps, not files to clean up
.PHONY: setup demo corpus-demo test test-fast lint bench melodies corpus codec codec-v2 mulan semantic codec-bench \
	seed-corpus tokens stages model model-bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/install_system_deps.sh
	bash scripts/install_system_deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev,ui]'
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

# Clips that cover the seed prompts (shared/prompts/seed_prompts.txt), merged with the
# main corpus into out/train (a manifest only; the audio stays where it is).
seed-corpus: corpus
	$(BIN)/musiclm data synth out/seed_violin808 --clips 100 --seed 11 --genre trap,hip_hop --lead violin --workers 2 -q
	$(BIN)/musiclm data synth out/seed_humrock --clips 100 --seed 12 --genre rock --arrangement "only humming" --workers 2 -q
	$(BIN)/musiclm data synth out/seed_whistechno --clips 100 --seed 13 --genre techno --arrangement "only whistling" --workers 2 -q
	$(BIN)/musiclm data merge out/train out/codec_corpus out/seed_violin808 out/seed_humrock out/seed_whistechno

# Token files of the training and validation corpora, made by the bundled codec, MuLan and
# semantic tokenizer (after `make codec mulan semantic` and copying them into the package,
# or as shipped). Resumable.
tokens: seed-corpus
	$(BIN)/musiclm tokenize out/codec_val -o out/tokens_val --workers 2 -q
	$(BIN)/musiclm tokenize out/codec_val -o out/tokens_val --kinds captions -q
	$(BIN)/musiclm tokenize out/train -o out/tokens --workers 2
	$(BIN)/musiclm tokenize out/train -o out/tokens --kinds captions
	$(BIN)/musiclm tokenize out/codec_val -o out/tokens_val --kinds attributes -q
	$(BIN)/musiclm tokenize out/train -o out/tokens --kinds attributes -q

# The three tiny stages (delay pattern). The semantic and coarse stages condition on the
# first MULAN_LEVELS MuLan levels, taken for TEXT_COND of the examples from a caption's
# tokens rather than the audio's: beyond level 1, a caption's tokens agree with its
# audio's no more than chance, but with its paraphrases' well above (docs/model.md).
MULAN_LEVELS ?= 4
TEXT_COND ?= 0.8
SEMANTIC_STAGE_STEPS ?= 1000
COARSE_STAGE_STEPS ?= 540
FINE_STAGE_STEPS ?= 750
stage-%: tokens
	$(BIN)/musiclm stage train $* --tokens out/tokens --val out/tokens_val -c tiny --seed 0 \
		--steps $($(shell echo $* | tr a-z A-Z)_STAGE_STEPS) --mulan-levels $(MULAN_LEVELS) --text-cond $(TEXT_COND) \
		--out out/stage_$* $$(test -d out/stage_$* && echo --resume) --export out/stage_$*/final --fp16

# Then the coarse stage learns tempo and key tokens (stated in a prompt, as "at 70 bpm" or
# "in E minor"), warm-started from the stage above (new token rows added), and after that
# the beat phase of every frame as well. The first phase's count is where the bundled run
# stopped it. The semantic stage takes both at once in a short run (longer, it overfits
# this corpus), then is merged half-way with the stage it started from (WiSE-FT): that
# kept most of the tempo gain and most of the instruments the fine-tune lost (docs/model.md).
COARSE_ATTR_STEPS ?= 276
COARSE_BEATS_STEPS ?= 420
COARSE_BEATS_LR ?= 5e-4
STAGE_ARGS = --tokens out/tokens --val out/tokens_val -c tiny --seed 0 \
	--mulan-levels $(MULAN_LEVELS) --text-cond $(TEXT_COND) --attributes --fp16
attr-%: stage-%
	$(BIN)/musiclm stage train $* $(STAGE_ARGS) --steps $($(shell echo $* | tr a-z A-Z)_ATTR_STEPS) \
		--init-from out/stage_$*/final --lr 5e-4 \
		--out out/stage_$*_attr $$(test -d out/stage_$*_attr && echo --resume) --export out/stage_$*_attr/final
beats-%: attr-%
	$(BIN)/musiclm stage train $* $(STAGE_ARGS) --beats --steps $($(shell echo $* | tr a-z A-Z)_BEATS_STEPS) \
		--init-from out/stage_$*_attr/final --lr $($(shell echo $* | tr a-z A-Z)_BEATS_LR) \
		--out out/stage_$*_beats $$(test -d out/stage_$*_beats && echo --resume) --export out/stage_$*_beats/final
SEMANTIC_BEATS_STEPS ?= 100
SEMANTIC_BEATS_LR ?= 3e-4
beats-semantic: stage-semantic
	$(BIN)/musiclm stage train semantic $(STAGE_ARGS) --beats --steps $(SEMANTIC_BEATS_STEPS) \
		--init-from out/stage_semantic/final --lr $(SEMANTIC_BEATS_LR) \
		--out out/stage_semantic_beats $$(test -d out/stage_semantic_beats && echo --resume) \
		--export out/stage_semantic_beats/final
SEMANTIC_MERGE ?= 0.5
merge-semantic: beats-semantic
	$(BIN)/musiclm stage merge out/stage_semantic/final out/stage_semantic_beats/final \
		--alpha $(SEMANTIC_MERGE) -o out/stage_semantic_merged --fp16
stages: merge-semantic beats-coarse stage-fine

# The bundled text-to-music model: the three stages beside the bundled codec and MuLan
# (pipeline.json points at them). `make corpus codec mulan semantic model` retrains all.
ASSETS := src/musiclm/assets
model: stages
	rm -rf $(ASSETS)/musiclm/semantic $(ASSETS)/musiclm/coarse $(ASSETS)/musiclm/fine
	mkdir -p $(ASSETS)/musiclm
	cp -r out/stage_semantic_merged $(ASSETS)/musiclm/semantic
	cp -r out/stage_coarse_beats/final $(ASSETS)/musiclm/coarse
	cp -r out/stage_fine/final $(ASSETS)/musiclm/fine
	printf '{"format_version": 1, "parts": {"codec": "../codec", "mulan": "../mulan"}}\n' > $(ASSETS)/musiclm/pipeline.json

# Speed of the bundled model: end to end (RTF, per stage, peak memory) and per step.
model-bench: setup
	$(BIN)/python benchmarks/generate_speed.py
	$(BIN)/python benchmarks/stage_speed.py --preset tiny

# v1 and v2 side by side on the same held-out clips, Opus 6/12 kbps beside (note F1 needs
# `pip install '.[notes]'`).
codec-bench: setup
	$(BIN)/python benchmarks/codec_quality.py --model v1=v1 --model v2=v2 --clips 24 --seconds 5

clean:
	rm -rf out .pytest_cache
