import numpy as np
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from musiclm.data.dataset import ClipDataset
from musiclm.data.manifest import ClipRecord, write_manifest
from musiclm.errors import UserError


def ramp(path, seconds, rate, channels=1):
    """A slow ramp (so every window differs and resampling keeps its shape)."""
    n = int(round(seconds * rate))
    x = np.linspace(-0.5, 0.5, n, dtype=np.float32)
    sf.write(str(path), np.stack([x] * channels, axis=1) if channels > 1 else x, rate)
    return ClipRecord(
        id=path.stem, audio=path.name, sample_rate=rate, seconds=n / rate, captions=[]
    )


@pytest.fixture
def corpus(tmp_path):
    records = []
    for i, (seconds, rate, channels) in enumerate(
        [(3.0, 16000, 1), (2.0, 24000, 2), (0.5, 24000, 1)]
    ):
        rec = ramp(tmp_path / f"clip{i}.wav", seconds, rate, channels)
        rec.captions = [f"caption {i} {k}" for k in range(4)]
        records.append(rec)
    write_manifest(tmp_path / "manifest.jsonl", records)
    return tmp_path


def test_length_resampling_and_padding(corpus):
    ds = ClipDataset(corpus, sample_rate=24000, seconds=1.0)
    assert len(ds) == 3
    for i in range(len(ds)):
        item = ds[i]
        assert item["audio"].dtype == torch.float32
        assert item["audio"].shape == (24000,)
        assert item["id"] == f"clip{i}" and item["index"] == i
        assert item["text"] in ds.records[i].captions
    # clip0 is 16 kHz: resampled, its content is a ramp, not silence or padding.
    a = ds[0]["audio"].numpy()
    assert np.all(np.abs(a[100:-100]) > 0) and a[-100] > a[100]
    # clip2 is 0.5 s: the rest of the window is zeros.
    c = ds[2]["audio"].numpy()
    assert np.all(c[12500:] == 0) and np.abs(c[100:11900]).min() > 0
    # Odd lengths: exactly round(seconds * sample_rate) samples.
    ds = ClipDataset(corpus, sample_rate=22050, seconds=0.3333)
    assert all(ds[i]["audio"].shape == (round(0.3333 * 22050),) for i in range(3))


def test_centre_crop(corpus):
    ds = ClipDataset(corpus, sample_rate=16000, seconds=1.0, random_crop=False)
    a = ds[0]["audio"].numpy()  # 3 s ramp from -0.5 to 0.5: centre second is ~[-1/6, 1/6]
    assert a[0] == pytest.approx(-1 / 6, abs=1e-3) and a[-1] == pytest.approx(1 / 6, abs=1e-3)
    assert torch.equal(
        ds[0]["audio"],
        ClipDataset(corpus, seconds=1.0, random_crop=False, sample_rate=16000, seed=5)[0]["audio"],
    )


def test_deterministic_per_seed_and_epoch(corpus):
    def draw(seed, epoch):
        ds = ClipDataset(corpus, sample_rate=16000, seconds=0.5, seed=seed)
        ds.set_epoch(epoch)
        return [ds[0]["audio"] for _ in range(2)], [ds[0]["text"] for _ in range(2)]

    (a1, a2), (t1, t2) = draw(0, 0)
    assert torch.equal(a1, a2) and t1 == t2  # same (seed, epoch, index) -> same item
    (b1, _), _ = draw(0, 0)
    assert torch.equal(a1, b1)  # ... across instances too
    crops = {tuple(draw(0, e)[0][0][:4].tolist()) for e in range(6)}
    texts = {draw(0, e)[1][0] for e in range(12)}
    assert len(crops) > 1 and len(texts) > 1  # epochs differ
    assert not torch.equal(draw(0, 0)[0][0], draw(1, 0)[0][0])  # seeds differ


def test_caption_modes(corpus):
    assert ClipDataset(corpus, caption_mode="first", seconds=0.1)[1]["text"] == "caption 1 0"
    assert ClipDataset(corpus, caption_mode="all", seconds=0.1)[1]["text"] == [
        f"caption 1 {k}" for k in range(4)
    ]


def test_dataloader_batches(corpus):
    ds = ClipDataset(corpus / "manifest.jsonl", sample_rate=8000, seconds=0.25)
    batch = next(iter(DataLoader(ds, batch_size=3, num_workers=0)))
    assert batch["audio"].shape == (3, 2000) and batch["audio"].dtype == torch.float32
    assert isinstance(batch["text"], list) and len(batch["text"]) == 3
    assert batch["id"] == ["clip0", "clip1", "clip2"]
    assert batch["index"].tolist() == [0, 1, 2]


def test_validation(corpus, tmp_path):
    for kw in [
        {"seconds": 0},
        {"seconds": -1.0},
        {"seconds": float("nan")},
        {"sample_rate": 4000},
        {"sample_rate": 200_000},
        {"caption_mode": "longest"},
    ]:
        with pytest.raises(ValueError):
            ClipDataset(corpus, **kw)
    with pytest.raises(UserError, match="no manifest"):
        ClipDataset(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "manifest.jsonl").write_text("")
    with pytest.raises(UserError, match="holds no clips"):
        ClipDataset(empty)
    with pytest.raises(IndexError):
        ClipDataset(corpus)[3]


def test_resampled_pitch_is_kept(tmp_path):
    rate, n = 16000, 32000
    sf.write(str(tmp_path / "sine.wav"), 0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / rate), rate)
    rec = ClipRecord(id="sine", audio="sine.wav", sample_rate=rate, seconds=2.0, captions=["a"])
    write_manifest(tmp_path / "manifest.jsonl", [rec])
    audio = ClipDataset(tmp_path, sample_rate=24000, seconds=1.0)[0]["audio"].numpy()
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    assert np.argmax(spectrum) * 24000 / len(audio) == pytest.approx(440, abs=2)
    assert np.sqrt(np.mean(audio[1000:-1000] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)
