"""The trainer: learning, exact resume, interrupts, logs, two optimizers, two processes."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import Dataset

from musiclm.errors import UserError
from musiclm.training import (
    TrainConfig,
    Trainer,
    TrainTask,
    latest_checkpoint,
    load_checkpoint,
    load_pretrained,
)
from musiclm.training.checkpoint import list_checkpoints


class Noisy(Dataset):
    """y = x @ w + noise, with fresh noise drawn in __getitem__ (exercises item seeding)."""

    def __init__(self, n: int, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i] + 0.01 * torch.randn(1)


class Regression(TrainTask):
    def __init__(self, hidden=16, n=40, stop_at=None, ctrl_c_at=None):
        self.hidden, self.n, self.stop_at, self.ctrl_c_at = hidden, n, stop_at, ctrl_c_at

    def build_model(self):
        h = self.hidden
        return nn.Sequential(nn.Linear(4, h), nn.ReLU(), nn.Dropout(0.1), nn.Linear(h, 1))

    def model_config(self):
        return {"hidden": self.hidden}

    def train_dataset(self):
        return Noisy(self.n)

    def val_dataset(self):
        return Noisy(10, seed=1)

    def loss(self, model, batch, step, optimizer="main"):
        if step == self.stop_at:
            raise KeyboardInterrupt  # mid-step: the step is dropped
        if step == self.ctrl_c_at:
            os.kill(os.getpid(), signal.SIGINT)  # deferred: the step finishes first
            self.ctrl_c_at = None
        x, y = batch
        pred = model(x)
        return F.mse_loss(pred, y), {"mae": (pred - y).abs().mean().item()}


def config(tmp_path, name="run", **kw):
    base = dict(
        steps=12, batch_size=8, lr=1e-2, warmup_steps=2, grad_accum=2, log_every=1,
        eval_every=4, save_every=5, keep_last=0, out_dir=str(tmp_path / name),
    )  # fmt: skip
    return TrainConfig(**{**base, **kw})


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def train_records(out_dir):
    lines = (Path(out_dir) / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "time"} for x in lines]


def test_loss_decreases_on_a_fixed_batch(tmp_path):
    cfg = config(tmp_path, steps=20, grad_accum=1, lr=3e-2, schedule="constant", eval_every=0)
    Trainer(Regression(n=8), cfg).fit()  # 8 examples: every step sees the same batch
    losses = [r["loss"] for r in train_records(cfg.out_dir) if r["split"] == "train"]
    assert len(losses) == 20 and losses[-1] < 0.2 * losses[0]


def test_resume_after_interrupt_is_exact(tmp_path):
    full = Trainer(Regression(), config(tmp_path, "full"))
    result = full.fit()
    assert result.step == 12 and result.checkpoint.name == "ckpt-000012"

    cfg = config(tmp_path, "cut")
    with pytest.raises(KeyboardInterrupt):
        Trainer(Regression(stop_at=7), cfg).fit()
    assert [p.name for p in list_checkpoints(cfg.out_dir)] == ["ckpt-000005", "ckpt-000007"]
    resumed = Trainer(Regression(), cfg)
    resumed.fit(resume=True)
    assert same(weights(full.model), weights(resumed.model))  # bitwise
    assert train_records(cfg.out_dir) == train_records(full.config.out_dir)

    cfg = config(tmp_path, "ctrl-c")
    with pytest.raises(KeyboardInterrupt):
        Trainer(Regression(ctrl_c_at=2), cfg).fit()
    assert latest_checkpoint(cfg.out_dir).name == "ckpt-000003"
    resumed = Trainer(Regression(), cfg)
    resumed.fit(resume=True)
    assert same(weights(full.model), weights(resumed.model))

    # Resuming from the middle checkpoint of the full run, into another folder.
    other = Trainer(Regression(), config(tmp_path, "other"))
    other.fit(resume=str(tmp_path / "full" / "ckpt-000005"))
    assert same(weights(full.model), weights(other.model))


def test_a_resumed_run_logs_the_same_averages(tmp_path):
    """A checkpoint between two log records keeps the sums of the window in between."""
    full = Trainer(Regression(), config(tmp_path, "full", log_every=4))
    full.fit()
    for name, task in (("cut", Regression(stop_at=7)), ("ctrl-c", Regression(ctrl_c_at=6))):
        cfg = config(tmp_path, name, log_every=4)
        with pytest.raises(KeyboardInterrupt):
            Trainer(task, cfg).fit()
        Trainer(Regression(), cfg).fit(resume=True)
        assert train_records(cfg.out_dir) == train_records(full.config.out_dir), name


def test_final_weights_and_files(tmp_path):
    cfg = config(tmp_path, steps=6, keep_last=1)
    trainer = Trainer(Regression(), cfg)
    result = trainer.fit()
    out = Path(cfg.out_dir)
    assert [p.name for p in list_checkpoints(out)] == ["ckpt-000006"]
    for name in ("metrics.jsonl", "metrics.csv", "metrics.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "metrics.csv").read_text().startswith("step,split,metric,value")
    splits = {r["split"] for r in train_records(out)}
    assert splits == {"train", "val"} and set(result.val_metrics) == {"loss", "mae"}
    assert {"loss", "mae", "lr", "grad_norm"} <= set(result.train_metrics)
    state, config_dict = load_pretrained(result.checkpoint)
    assert config_dict == {"hidden": 16} and same(state, weights(trainer.model))
    ckpt = load_checkpoint(out)
    assert ckpt.step == 6 and ckpt.state["train_config"] == cfg.to_dict()


def test_refusals(tmp_path):
    cfg = config(tmp_path, steps=2)
    Trainer(Regression(), cfg).fit()
    with pytest.raises(UserError, match="already holds checkpoints"):
        Trainer(Regression(), cfg).fit()
    with pytest.raises(UserError, match="different model config.*hidden"):
        Trainer(Regression(hidden=32), cfg.replace(steps=4)).fit(resume=True)
    with pytest.raises(UserError, match="fewer than one global batch"):
        Trainer(Regression(n=4), config(tmp_path, "small")).fit()
    with pytest.raises(UserError, match="no checkpoint"):
        Trainer(Regression(), cfg).fit(resume=str(tmp_path / "nowhere"))


def test_config_round_trip_and_validation():
    cfg = TrainConfig(steps=5, betas=(0.8, 0.9), mixed_precision="bf16")
    d = json.loads(json.dumps(cfg.to_dict()))
    assert TrainConfig.from_dict(d) == cfg
    with pytest.raises(UserError, match="steps"):
        TrainConfig(steps=0)
    with pytest.raises(UserError, match="schedule"):
        TrainConfig(schedule="linear")
    with pytest.raises(UserError, match="unknown setting"):
        TrainConfig.from_dict({"stepz": 3})


class TinyGAN(TrainTask):
    """Generator: noise -> 2-D points; discriminator: real vs fake. Alternating updates,
    discriminator first; it sits out odd steps (a loss of None)."""

    def build_model(self):
        return {
            "generator": nn.Linear(2, 2),
            "discriminator": nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)),
        }

    def model_config(self):
        return {"kind": "tiny-gan"}

    def train_dataset(self):
        g = torch.Generator().manual_seed(0)
        return torch.utils.data.TensorDataset(
            torch.randn(256, 2, generator=g) * 0.3 + torch.tensor([2.0, -1.0])
        )

    def optimizers(self, model, config):
        make = lambda m: torch.optim.Adam(m.parameters(), lr=config.lr, betas=config.betas)  # noqa: E731
        return {
            "discriminator": make(model["discriminator"]),
            "generator": make(model["generator"]),
        }

    def loss(self, model, batch, step, optimizer="generator"):
        (real,) = batch
        z = torch.randn_like(real)
        d = model["discriminator"]
        if optimizer == "discriminator":
            if step % 2:
                return None, {}
            with torch.no_grad():
                fake = model["generator"](z)
            logits = torch.cat([d(real), d(fake)])
            target = torch.cat([torch.ones(len(real), 1), torch.zeros(len(real), 1)])
            return F.binary_cross_entropy_with_logits(logits, target), {}
        fake = model["generator"](z)
        loss = F.binary_cross_entropy_with_logits(d(fake), torch.ones(len(real), 1))
        return loss, {"fake_mean_x": fake[:, 0].mean().item()}


def test_two_optimizers(tmp_path):
    cfg = TrainConfig(
        steps=120, batch_size=32, lr=2e-2, warmup_steps=0, schedule="constant", log_every=10,
        eval_every=0, save_every=60, grad_clip=5.0, out_dir=str(tmp_path / "gan"),
    )  # fmt: skip
    trainer = Trainer(TinyGAN(), cfg)
    result = trainer.fit()
    assert {"discriminator/loss", "generator/loss", "generator/lr", "fake_mean_x"} <= set(
        result.train_metrics
    )
    assert abs(result.train_metrics["fake_mean_x"] - 2.0) < 1.0  # moved from ~0 towards 2
    ckpt = load_checkpoint(result.checkpoint)
    assert set(ckpt.optimizers) == {"discriminator", "generator"}
    assert {k.split(".")[0] for k in ckpt.weights} == {"generator", "discriminator"}
    # Resume from the middle one: the same generator, bit for bit.
    other = Trainer(TinyGAN(), cfg.replace(out_dir=str(tmp_path / "gan2")))
    other.fit(resume=str(tmp_path / "gan" / "ckpt-000060"))
    assert same(weights(trainer.model["generator"]), weights(other.model["generator"]))


SCRIPT = """
import hashlib, sys, torch
sys.path.insert(0, {tests!r})
from test_trainer import Regression, config
from musiclm.training import Trainer
from pathlib import Path

trainer = Trainer(Regression(n=64), config(Path({tmp!r}), steps=5, batch_size=4, save_every=0))
trainer.fit()
h = hashlib.sha256()
for k, v in sorted(trainer.model.state_dict().items()):
    h.update(v.numpy().tobytes())
print("RANK", trainer.accelerator.process_index, h.hexdigest(), flush=True)
"""


@pytest.mark.slow
def test_two_processes_gloo(tmp_path):
    script = tmp_path / "train2.py"
    script.write_text(
        textwrap.dedent(SCRIPT.format(tests=str(Path(__file__).parent), tmp=str(tmp_path)))
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(port), str(script)]  # fmt: skip
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sums = dict(line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("RANK"))
    assert set(sums) == {"0", "1"} and sums["0"] == sums["1"]
    saved, _ = load_pretrained(tmp_path / "run" / "ckpt-000005")
    import hashlib

    h = hashlib.sha256()
    for _, v in sorted(saved.items()):
        h.update(v.numpy().tobytes())
    assert h.hexdigest() == sums["0"]
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt.state["world_size"] == 2 and len(ckpt.rng) == 2
    assert elapsed < 60, elapsed


class Diverging(Regression):
    def loss(self, model, batch, step, optimizer="main"):
        loss, values = super().loss(model, batch, step, optimizer)
        return (loss * float("nan") if step == 3 else loss), values


def test_a_non_finite_loss_stops_training_before_a_nan_step_or_checkpoint(tmp_path):
    cfg = config(tmp_path, "nan", save_every=2)
    trainer = Trainer(Diverging(), cfg)
    with pytest.raises(UserError, match="loss is nan at step 4"):
        trainer.fit()
    assert [p.name for p in list_checkpoints(cfg.out_dir)] == ["ckpt-000002"]
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_partial_checkpoints_of_a_killed_run_are_removed_and_others_kept(tmp_path):
    out = tmp_path / "run"
    (out / ".ckpt-000004.abcd1234.musiclm-tmp").mkdir(parents=True)  # killed mid-save
    (out / ".ckpt-000004.tmp-x1y2z3").mkdir()  # the older temporary name
    (out / ".keep-me").mkdir()
    Trainer(Regression(), config(tmp_path, "run")).fit()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".keep-me"]


def test_a_second_run_into_the_same_folder_is_refused(tmp_path):
    from musiclm.io import folder_lock

    cfg = config(tmp_path, "busy")
    with folder_lock(cfg.out_dir):
        with pytest.raises(UserError, match="another run is writing here"):
            Trainer(Regression(), cfg).fit()
    assert not list_checkpoints(cfg.out_dir)


@pytest.mark.parametrize("lr", [float("inf"), float("nan"), 0.0])
def test_unusable_learning_rates_are_refused(tmp_path, lr):
    with pytest.raises(UserError, match="lr"):
        config(tmp_path, lr=lr)
