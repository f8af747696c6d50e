"""Deterministic, resumable data order for the trainer.

Each epoch is a seeded permutation of the dataset, cut into *global* micro-batches of
``batch_size * world`` examples; process ``rank`` takes its slice of each. The position is
two integers (epoch, micro-batches consumed), so a resumed run continues with exactly the
next batch. Every item is fetched under RNGs seeded from (seed, epoch, index), so random
crops and augmentations do not depend on workers, processes or where a run was resumed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info

from musiclm.errors import UserError

VAL_EPOCH = 2**31 - 1  # the "epoch" validation items are seeded with


def derive_seed(*parts: int) -> int:
    """A well-mixed 63-bit seed from non-negative integers (NumPy's SeedSequence)."""
    a, b = np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint32)
    return (int(a) << 31) ^ int(b)


def seed_all(seed: int) -> None:
    """Seed Python's, NumPy's and torch's CPU global RNGs (CUDA's is left alone)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.random.default_generator.manual_seed(seed)


class ItemSeeded(Dataset):
    """Wraps a dataset; item ``(epoch, index)`` is ``dataset[index]`` fetched under RNGs
    seeded from ``(seed, epoch, index)``. In the main process the global RNG states are
    put back afterwards, so loading data never shifts the training randomness.

    A dataset with its own seeded randomness and a ``set_epoch`` method (ClipDataset) is
    told the epoch before each item, so every epoch brings new crops and captions."""

    def __init__(self, dataset: Dataset, seed: int):
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, index = key
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        seed = derive_seed(self.seed, 3, epoch, index)
        if get_worker_info() is not None:  # a worker's RNGs are its own
            seed_all(seed)
            return self.dataset[index]
        saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
        try:
            seed_all(seed)
            return self.dataset[index]
        finally:
            random.setstate(saved[0])
            np.random.set_state(saved[1])
            torch.set_rng_state(saved[2])


class TrainStream:
    """An endless stream of this process's training micro-batches, in a fixed order.

    Args:
        dataset: the task's training dataset.
        batch_size: examples per micro-batch per process.
        rank, world: this process and the number of processes.
        epoch, batch: the position to start from (micro-batches consumed in ``epoch``).
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        batch_size: int,
        seed: int,
        collate: Callable[[list], Any],
        num_workers: int = 0,
        rank: int = 0,
        world: int = 1,
        epoch: int = 0,
        batch: int = 0,
        pin_memory: bool = False,
    ):
        self.items = ItemSeeded(dataset, seed)
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        self.collate, self.num_workers, self.pin_memory = collate, num_workers, pin_memory
        self.per_epoch = len(dataset) // (batch_size * world)  # the last partial one is dropped
        if self.per_epoch == 0:
            raise UserError(
                f"the training set has {len(dataset)} examples, fewer than one global batch "
                f"({batch_size} x {world} processes); lower batch_size"
            )
        self.epoch, self.batch = epoch, batch
        self._it: Iterator | None = None

    def position(self) -> dict[str, int]:
        """Where the next batch comes from: ``{"epoch", "batch"}``."""
        return {"epoch": self.epoch, "batch": self.batch}

    def _batches(self, epoch: int, start: int) -> Iterator[list[tuple[int, int]]]:
        g = torch.Generator().manual_seed(derive_seed(self.seed, 1, epoch))
        order = torch.randperm(len(self.items), generator=g).tolist()
        width = self.batch_size * self.world
        for b in range(start, self.per_epoch):
            first = b * width + self.rank * self.batch_size
            yield [(epoch, i) for i in order[first : first + self.batch_size]]

    def _loader(self) -> Iterator:
        if self.batch >= self.per_epoch:  # resumed exactly at an epoch's end
            self.epoch, self.batch = self.epoch + 1, 0
        # A DataLoader draws its workers' base seed from this generator, not the global RNG.
        g = torch.Generator().manual_seed(derive_seed(self.seed, 2, self.epoch, self.rank))
        return iter(
            DataLoader(
                self.items,
                batch_sampler=list(self._batches(self.epoch, self.batch)),
                collate_fn=self.collate,
                num_workers=self.num_workers,
                pin_memory=self.pin_memory,
                generator=g,
            )
        )

    def next(self) -> Any:
        """The next micro-batch (on CPU); the position advances by one."""
        if self._it is None:
            self._it = self._loader()
        try:
            out = next(self._it)
        except StopIteration:
            self.epoch, self.batch = self.epoch + 1, 0
            self._it = self._loader()
            out = next(self._it)
        self.batch += 1
        return out

    def close(self) -> None:
        self._it = None


def val_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    seed: int,
    collate: Callable[[list], Any],
    rank: int = 0,
    world: int = 1,
    max_batches: int = 0,
    num_workers: int = 0,
) -> DataLoader:
    """This process's share of the validation set (every ``world``-th batch), same order
    and same items at every evaluation; ``max_batches`` > 0 caps it."""
    n = len(dataset)
    batches = [
        [(VAL_EPOCH, i) for i in range(s, min(s + batch_size, n))] for s in range(0, n, batch_size)
    ]
    mine = batches[rank::world]
    if max_batches:
        mine = mine[:max_batches]
    return DataLoader(
        ItemSeeded(dataset, seed),
        batch_sampler=mine,
        collate_fn=collate,
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(derive_seed(seed, 4)),
    )
