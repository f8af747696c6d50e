"""The one training loop of the project, on Hugging Face Accelerate.

The same code runs on one CPU, one GPU, and several GPUs or nodes under
``accelerate launch`` / ``torchrun`` (DDP; bf16 autocast with ``mixed_precision="bf16"``).
A model plugs in by implementing :class:`~musiclm.training.task.TrainTask`.

Resume is exact: training N steps in one go or k steps, stopping, and resuming to N give
the same weights (bitwise on CPU), because everything that decides the next step is in
the checkpoint: weights, optimizer and scheduler states, the data position and every
process's RNG states. Validation runs under its own fixed seed and puts the training RNG
back, so it changes nothing either.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import gather_object, send_to_device, set_seed
from tqdm.auto import tqdm

from musiclm.errors import UserError
from musiclm.io import folder_lock
from musiclm.training.checkpoint import (
    Checkpoint,
    list_checkpoints,
    load_checkpoint,
    load_model_state,
    model_state_dict,
    remove_partial_checkpoints,
    resolve_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from musiclm.training.config import TrainConfig
from musiclm.training.data import TrainStream, derive_seed, seed_all, val_loader
from musiclm.training.metrics import MetricsLog
from musiclm.training.task import TrainTask

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    step: int  # optimizer updates done
    checkpoint: Path | None  # the last checkpoint written
    train_metrics: dict[str, float] = field(default_factory=dict)  # the last logged window
    val_metrics: dict[str, float] = field(default_factory=dict)  # the last validation


def lr_factor(step: int, config: TrainConfig) -> float:
    """Multiplier of the peak lr at optimizer step ``step`` (0-based): linear warmup, then
    cosine decay to ``min_lr_ratio`` at ``config.steps``, or constant."""
    if step < config.warmup_steps:
        return (step + 1) / (config.warmup_steps + 1)
    if config.schedule == "constant":
        return 1.0
    progress = min(1.0, (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps))
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (
        1 + math.cos(math.pi * progress)
    )


class _DeferInterrupt:
    """Turn the first Ctrl-C into a flag read between steps, so the step in flight ends
    and the checkpoint is exact; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._installed = False
        self._previous: Any = signal.default_int_handler

    def __enter__(self) -> _DeferInterrupt:
        if threading.current_thread() is threading.main_thread():  # signals need it
            previous = signal.signal(signal.SIGINT, self._handle)
            self._previous = signal.default_int_handler if previous is None else previous
            self._installed = True
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._previous)

    def __exit__(self, *exc) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


class Trainer:
    """Trains ``task`` as ``config`` says; files go to ``config.out_dir``.

    After :meth:`fit`, ``trainer.model`` is the trained network (or dict of networks),
    unwrapped from any distributed wrapper.
    """

    def __init__(self, task: TrainTask, config: TrainConfig, device: str | None = None):
        """``device``: ``"cpu"`` keeps training on the CPU even where a GPU is; ``None`` (or
        any other) lets Accelerate choose (a GPU if there is one, per process)."""
        config.validate()
        self.task, self.config = task, config
        self.device = device
        self.model: Any = None

    # ---- setup ------------------------------------------------------------------------

    def _checkpoint_to_resume(self, resume: bool | str) -> Path | None:
        out_dir = Path(self.config.out_dir)
        if resume is False:
            if list_checkpoints(out_dir):
                raise UserError(
                    f"{out_dir} already holds checkpoints; resume from them or pick another out_dir"
                )
            return None
        if resume is True:
            found = list_checkpoints(out_dir)
            return found[-1] if found else None
        return resolve_checkpoint(resume)

    def fit(self, resume: bool | str = False) -> FitResult:
        """Train up to ``config.steps`` optimizer updates.

        Args:
            resume: ``False`` starts afresh (refused if ``out_dir`` has checkpoints);
                ``True`` continues from the latest checkpoint in ``out_dir`` if any;
                a path continues from that checkpoint (or run folder's latest).
        Raises:
            UserError: a checkpoint of another model config, unusable settings, another
                run writing into ``out_dir``, or a loss that is no longer finite.
            KeyboardInterrupt: after saving a checkpoint of the last finished step.
        """
        main = os.environ.get("RANK", "0") == "0"  # one process locks and tidies out_dir
        with folder_lock(self.config.out_dir) if main else contextlib.nullcontext():
            if main:
                remove_partial_checkpoints(self.config.out_dir)  # left by a killed run
            return self._fit(resume)

    def _fit(self, resume: bool | str) -> FitResult:
        cfg, task = self.config, self.task
        # torchrun without a GPU: Accelerate only picks gloo when told it runs on CPU.
        cpu = not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1
        cpu = cpu or str(self.device) == "cpu"
        acc = Accelerator(
            cpu=cpu,
            mixed_precision=cfg.mixed_precision,
            gradient_accumulation_steps=cfg.grad_accum,
        )
        self.accelerator = acc
        rank, world = acc.process_index, acc.num_processes
        ckpt_path = self._checkpoint_to_resume(resume)

        set_seed(cfg.seed)  # the same initial weights on every process
        raw = task.build_model()
        opts = task.optimizers(raw, cfg)
        if not opts:
            raise UserError("the task returned no optimizers")
        scheds = {
            n: torch.optim.lr_scheduler.LambdaLR(o, lambda s: lr_factor(s, cfg))
            for n, o in opts.items()
        }
        step, position, state = 0, {"epoch": 0, "batch": 0}, {}
        ckpt = None
        if ckpt_path is not None:
            ckpt = load_checkpoint(ckpt_path, model_config=task.model_config())
            self._restore(ckpt, raw, opts, scheds)
            step, state = ckpt.step, ckpt.state
            position = state.get("position", position)
            if state.get("world_size", world) != world:
                log.warning(
                    "resuming on %d processes, saved on %s: data order differs",
                    world,
                    state["world_size"],
                )
            if acc.is_main_process:
                log.info("resuming from %s at step %d", ckpt_path, step)

        names = list(raw) if isinstance(raw, dict) else None
        modules = list(raw.values()) if names else [raw]
        prepared = acc.prepare(*modules, *opts.values())
        models = list(prepared[: len(modules)])
        self._models = models
        self._model_arg = dict(zip(names, models)) if names else models[0]
        self._opts = dict(zip(opts, prepared[len(modules) :]))
        self._scheds = scheds

        if ckpt is not None and rank < len(ckpt.rng):
            set_rng_state(ckpt.rng[rank])
        else:
            seed_all(derive_seed(cfg.seed, 5, rank))

        train = TrainStream(
            task.train_dataset(),
            batch_size=cfg.batch_size,
            seed=cfg.seed,
            collate=task.collate,
            num_workers=cfg.num_workers,
            rank=rank,
            world=world,
            pin_memory=acc.device.type == "cuda",
            **position,
        )
        val_set = task.val_dataset()
        metrics = MetricsLog(
            cfg.out_dir, enabled=acc.is_main_process, resume_step=step if ckpt else None
        )
        acc.wait_for_everyone()
        try:
            windows = state.get("metric_windows") or []  # one per process
            window = windows[rank] if rank < len(windows) else {}
            return self._loop(step, train, val_set, metrics, window, resumed=ckpt is not None)
        finally:
            train.close()
            self.model = (
                {n: acc.unwrap_model(m) for n, m in zip(names, models)}
                if names
                else acc.unwrap_model(models[0])
            )

    def _restore(self, ckpt: Checkpoint, raw, opts, scheds) -> None:
        if set(ckpt.optimizers) != set(opts):
            raise UserError(
                f"checkpoint {ckpt.path} has optimizers {sorted(ckpt.optimizers)}, "
                f"the task {sorted(opts)}"
            )
        load_model_state(raw, ckpt.weights)
        for name, opt in opts.items():
            opt.load_state_dict(ckpt.optimizers[name])
        for name, sched in scheds.items():
            sched.load_state_dict(ckpt.state["schedulers"][name])

    # ---- the loop ---------------------------------------------------------------------

    def _loop(self, step, train, val_set, metrics, saved_window, *, resumed: bool) -> FitResult:
        cfg, acc = self.config, self.accelerator
        last_save = last_eval = step if resumed else -1
        result = FitResult(step, None)
        # Sums of the metrics since the last log record; kept in checkpoints, so a resumed
        # run logs the same averages as one that never stopped.
        window: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        window.update({k: [float(s), int(n)] for k, (s, n) in saved_window.items()})
        bar = tqdm(
            total=cfg.steps,
            initial=step,
            desc="train",
            unit="step",
            dynamic_ncols=True,
            disable=not acc.is_main_process,
        )
        snapshot = (step, train.position(), rng_state(), _copy(window))
        try:
            with _DeferInterrupt() as interrupt:
                while step < cfg.steps:
                    snapshot = (step, train.position(), rng_state(), _copy(window))
                    if interrupt.requested:
                        raise KeyboardInterrupt
                    micro = [
                        send_to_device(train.next(), acc.device) for _ in range(cfg.grad_accum)
                    ]
                    for k, v in self._train_step(step, micro).items():
                        window[k][0] += float(v)
                        window[k][1] += 1
                    step += 1
                    bar.update(1)
                    if step % cfg.log_every == 0 or step == cfg.steps:
                        result.train_metrics = self._mean_over_processes(
                            {k: s / n for k, (s, n) in window.items()}
                        )
                        window.clear()
                        metrics.log(step, "train", result.train_metrics)
                        bar.set_postfix(
                            {k: f"{v:.4g}" for k, v in list(result.train_metrics.items())[:3]}
                        )
                    if val_set is not None and cfg.eval_every and step % cfg.eval_every == 0:
                        result.val_metrics = self._validate(step, val_set, metrics)
                        last_eval = step
                    if cfg.save_every and step % cfg.save_every == 0:
                        result.checkpoint = self._save(
                            step, train.position(), rng_state(), _copy(window), result
                        )
                        last_save = step
                snapshot = (step, train.position(), rng_state(), _copy(window))
            if val_set is not None and last_eval != step:
                result.val_metrics = self._validate(step, val_set, metrics)
            if last_save != step:
                result.checkpoint = self._save(
                    step, train.position(), rng_state(), _copy(window), result
                )
        except KeyboardInterrupt:
            if acc.is_main_process:  # alone: the other processes may not reach a collective
                at, position, rng, sums = snapshot
                path = self._save(at, position, rng, sums, result, collective=False)
                log.warning("interrupted: saved %s", path)
            raise
        finally:
            bar.close()
        result.step = step
        metrics.plot()
        return result

    def _train_step(self, step: int, micro: list[Any]) -> dict[str, float]:
        """One update of every optimizer, in order; returns this step's metrics."""
        acc, cfg, multi = self.accelerator, self.config, len(self._opts) > 1
        out: dict[str, Any] = {}
        for name, opt in self._opts.items():
            prefix = f"{name}/" if multi else ""
            opt.zero_grad(set_to_none=True)  # also drops grads another optimizer's loss left
            stepped = False
            for i, batch in enumerate(micro):
                with contextlib.ExitStack() as stack:
                    if i < len(micro) - 1:  # all-reduce gradients only on the last micro-batch
                        for m in self._models:
                            stack.enter_context(acc.no_sync(m))
                    loss, values = self.task.loss(self._model_arg, batch, step, name)
                    if loss is None:
                        break
                    if not torch.isfinite(loss.detach()).all():  # never step (or save) on NaN
                        raise UserError(
                            f"the {prefix}loss is {float(loss):g} at step {step + 1}; stopped "
                            f"(lr {opt.param_groups[0]['lr']:.3g} too high?); the checkpoints "
                            "in the run folder are from before"
                        )
                    acc.backward(loss)  # divides by grad_accum
                stepped = True
                for k, v in {f"{prefix}loss": loss.detach().float(), **values}.items():
                    out[k] = out.get(k, 0.0) + v / len(micro)
            if not stepped:
                continue
            if cfg.grad_clip > 0:
                norm = acc.clip_grad_norm_(self._clip_params(opt), cfg.grad_clip)
                out[f"{prefix}grad_norm"] = norm
            opt.step()
            out[f"{prefix}lr"] = opt.param_groups[0]["lr"]
            self._scheds[name].step()
            opt.zero_grad(set_to_none=True)
        return {k: float(v) for k, v in out.items()}

    def _clip_params(self, opt) -> list[torch.nn.Parameter]:
        # Accelerate clips an FSDP model only when handed exactly its parameter list.
        params = [p for g in opt.param_groups for p in g["params"]]
        ids = {id(p) for p in params}
        for m in self._models:
            own = list(m.parameters())
            if {id(p) for p in own} == ids:
                return own
        return params

    def _mean_over_processes(self, values: dict[str, float]) -> dict[str, float]:
        every = gather_object([values]) if self.accelerator.num_processes > 1 else [values]
        keys = list(dict.fromkeys(k for d in every for k in d))
        return {k: sum(d[k] for d in every if k in d) / sum(k in d for d in every) for k in keys}

    @torch.no_grad()
    def _validate(self, step: int, val_set, metrics: MetricsLog) -> dict[str, float]:
        """Metrics averaged over the whole validation set (all processes), weighted by
        batch size, under a fixed seed; the training RNG is restored afterwards."""
        cfg, acc = self.config, self.accelerator
        saved = rng_state()
        seed_all(derive_seed(cfg.seed, 6, acc.process_index))
        for m in self._models:
            m.eval()
        sums: dict[str, float] = defaultdict(float)
        count = 0
        try:
            loader = val_loader(
                val_set,
                batch_size=cfg.batch_size,
                seed=cfg.seed,
                collate=self.task.collate,
                rank=acc.process_index,
                world=acc.num_processes,
                max_batches=cfg.val_batches,
            )
            for keys, batch in zip(loader.batch_sampler, loader):
                values = self.task.val_metrics(
                    self._model_arg, send_to_device(batch, acc.device), step
                )
                for k, v in values.items():
                    sums[k] += float(v) * len(keys)
                count += len(keys)
        finally:
            for m in self._models:
                m.train()
            set_rng_state(saved)
        parts = gather_object([(dict(sums), count)]) if acc.num_processes > 1 else [(sums, count)]
        total = sum(n for _, n in parts)
        keys = sorted({k for s, _ in parts for k in s})
        out = {k: sum(s.get(k, 0.0) for s, _ in parts) / max(total, 1) for k in keys}
        metrics.log(step, "val", out)
        metrics.plot()
        return out

    def _save(
        self, step, position, rng, window, result: FitResult, *, collective: bool = True
    ) -> Path | None:
        """Write a checkpoint from the main process; with ``collective`` every process
        takes part (weights gathered under FSDP, every process's RNG state kept)."""
        acc, cfg = self.accelerator, self.config
        if collective:
            weights = {}
            for m, key in zip(self._models, self._weight_prefixes()):
                sd = acc.get_state_dict(m)
                weights.update({f"{key}{k}": v for k, v in (sd or {}).items()})
            rngs = gather_object([rng]) if acc.num_processes > 1 else [rng]
            windows = gather_object([window]) if acc.num_processes > 1 else [window]
        else:
            weights = model_state_dict(self._unwrapped())
            rngs, windows = [rng], [window]
        path = None
        if acc.is_main_process:
            state = {
                "position": position,
                "world_size": acc.num_processes,
                "train_metrics": result.train_metrics,
                "val_metrics": result.val_metrics,
                "metric_windows": windows,
                "train_config": cfg.to_dict(),
                "schedulers": {n: s.state_dict() for n, s in self._scheds.items()},
                "task": type(self.task).__name__,
            }
            optimizers = {n: o.state_dict() for n, o in self._opts.items()}
            ckpt = Checkpoint(step, weights, self.task.model_config(), optimizers, state, rngs)
            path = save_checkpoint(cfg.out_dir, ckpt, keep_last=cfg.keep_last)
        if collective:
            acc.wait_for_everyone()
        return path

    def _weight_prefixes(self) -> list[str]:
        return [f"{n}." for n in self._model_arg] if isinstance(self._model_arg, dict) else [""]

    def _unwrapped(self):
        if isinstance(self._model_arg, dict):
            return {n: self.accelerator.unwrap_model(m) for n, m in self._model_arg.items()}
        return self.accelerator.unwrap_model(self._model_arg)


def _copy(window: dict[str, list[float]]) -> dict[str, list[float]]:
    return {k: [s, n] for k, (s, n) in window.items()}
