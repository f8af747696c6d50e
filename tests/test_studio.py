"""The studio (``musiclm ui``): input checks, the ``/generate`` API through gradio_client,
and the page in a real headless Chromium (selenium + Debian's chromium-driver)."""

from __future__ import annotations

import json
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest

from musiclm.pipeline import MusicLM

gr = pytest.importorskip("gradio", reason="the studio needs the [ui] extra (pip install gradio)")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def debug_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model")
    MusicLM.debug(attributes=True).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def server(debug_model, tmp_path_factory):
    from musiclm.studio import build_app

    out = tmp_path_factory.mktemp("takes")
    model = MusicLM.from_pretrained(debug_model)
    app = build_app(model, out, "debug")
    app.queue()
    port = _free_port()
    _, url, _ = app.launch(server_port=port, prevent_thread_lock=True, quiet=True,
                           allowed_paths=[str(out)])  # fmt: skip
    yield url, out
    app.close()


def test_check_inputs_names_each_bad_control():
    from musiclm.studio import check_inputs

    model = MusicLM.debug(attributes=True)
    assert check_inputs(model, "calm piano", 2, 0) == {}
    assert set(check_inputs(model, "   ", 2, 0)) == {"prompt"}
    assert set(check_inputs(model, "x" * 501, 2, 0)) == {"prompt"}
    assert set(check_inputs(model, "a", 0.1, 0)) == {"seconds"}
    assert set(check_inputs(model, "a", float("nan"), 0)) == {"seconds"}
    assert set(check_inputs(model, "a", 2, 1.5)) == {"seed"}
    assert set(check_inputs(model, "a", 2, -1)) == {"seed"}
    assert check_inputs(model, "a", 2, 1.5, random_seed=True) == {}  # the seed is unused
    assert set(check_inputs(model, "a", 2, 0, tempo=1000)) == {"tempo"}
    assert set(check_inputs(model, "a", 2, 0, key="H major")) == {"key"}


def test_api_generate_returns_the_wav_and_survives_bad_input(server):
    from gradio_client import Client

    url, out = server
    client = Client(url, verbose=False)
    with pytest.raises(Exception, match="Write a prompt"):
        client.predict("   ", 2, 0, api_name="/generate")
    with pytest.raises(Exception, match="Seconds must be"):
        client.predict("calm piano", 1000, 0, api_name="/generate")
    wav = client.predict("calm solo piano", 2, 5, api_name="/generate")  # still serving
    import soundfile as sf

    y, sr = sf.read(wav)
    assert sr == 8000 and len(y) == 2 * 8000
    sidecars = [json.loads(p.read_text()) for p in out.glob("take_*.json")]
    assert any(s["prompt"] == "calm solo piano" and s["seed"] == 5 for s in sidecars)


@pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no chromium + chromedriver here (apt-get install chromium chromium-driver; "
    "`make setup` installs them as root)",
)
def test_page_in_a_real_browser(server):
    """Type a prompt, make a 2 s take, wait for the audio player's source, read its sidecar."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, out = server
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1100"):  # fmt: skip
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        wait = WebDriverWait(driver, 90)
        driver.get(url)
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#prompt textarea")))
        box.send_keys("a calm browser tune")
        seconds = driver.find_element(By.CSS_SELECTOR, "#seconds input")
        seconds.clear()
        seconds.send_keys("2")
        driver.find_element(By.CSS_SELECTOR, "#generate").click()

        # the player (Gradio's waveform player) has loaded its source: it knows its length
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".take-audio #duration"))
        wait.until(
            lambda d: d.find_element(By.CSS_SELECTOR, ".take-audio #duration").text == "0:02"
        )
        link = driver.find_element(By.CSS_SELECTOR, ".take-audio a[data-testid=download-link]")
        src = link.get_attribute("href")
        assert src.endswith(".wav")
        with urllib.request.urlopen(src) as r:  # the player's file is served
            assert r.read(4) == b"RIFF"
        links = wait.until(lambda d: [
            a.get_attribute("href") for a in d.find_elements(By.CSS_SELECTOR, ".take a")
            if (a.get_attribute("href") or "").endswith(".json")
        ])  # fmt: skip
        with urllib.request.urlopen(links[0]) as r:
            sidecar = json.loads(r.read())
        assert sidecar["prompt"] == "a calm browser tune" and sidecar["seconds"] == 2
        assert isinstance(sidecar["seed"], int) and sidecar["sample_rate"] == 8000
        # bad input: a message in the page, and the server keeps serving
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.BACKSPACE)  # .clear() does not reach Gradio's input handler
        driver.find_element(By.CSS_SELECTOR, "#generate").click()
        wait.until(lambda d: "Write a prompt" in d.page_source)
        # a story in place of the prompt: the take's sidecar has its parts
        accordion = (By.XPATH, "//button[contains(., 'Form and story')]")
        wait.until(ec.element_to_be_clickable(accordion)).click()
        story = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#story textarea")))
        story.send_keys("0=a browser story\n1=its second part")
        driver.find_element(By.CSS_SELECTOR, "#generate").click()
        wait.until(lambda d: list(out.glob("take_*_a_browser_story.json")))
        told = json.loads(next(out.glob("take_*_a_browser_story.json")).read_text())
        assert [p["text"] for p in told["story"]] == ["a browser story", "its second part"]
    finally:
        driver.quit()


def _tone(path, seconds: float, sr: int = 8000, hz: float = 440.0):
    import numpy as np
    import soundfile as sf

    t = np.arange(int(seconds * sr)) / sr
    y = (0.3 * np.sin(2 * np.pi * hz * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2).astype("float32")
    sf.write(path, y, sr)
    return y


def test_a_take_continues_a_recording_without_a_prompt(debug_model, tmp_path):
    import numpy as np
    import soundfile as sf

    from musiclm.errors import UserError
    from musiclm.studio import Studio, check_inputs

    studio = Studio(MusicLM.from_pretrained(debug_model), tmp_path / "takes", "debug")
    x = _tone(tmp_path / "clip.wav", 1.5)
    take = studio.make_take("", 3.0, 0, continue_from=tmp_path / "clip.wav")
    y, sr = sf.read(take["wav"], dtype="float32")
    assert sr == 8000 and len(y) == 3 * 8000
    assert np.allclose(y[:8000], x[:8000], atol=1e-4)  # it begins with the recording as given
    s = json.loads(Path(take["json"]).read_text())
    assert s["continue"]["file"].endswith("clip.wav") and s["melody"] is None
    assert "continuation" in Path(take["wav"]).name
    assert check_inputs(studio.model, "", 3.0, 0, continuing=True) == {}
    assert set(check_inputs(studio.model, "", 3.0, 0)) == {"prompt"}
    with pytest.raises(UserError, match="not both"):
        studio.make_take("pop", 3.0, 0, melody=tmp_path / "clip.wav",
                         continue_from=tmp_path / "clip.wav")  # fmt: skip
    with pytest.raises(UserError):  # longer than the take: one clear message
        studio.make_take("", 1.0, 0, continue_from=tmp_path / "clip.wav")


def test_a_take_arranges_a_melody_and_a_bad_file_is_one_message(tmp_path):
    import soundfile as sf

    from musiclm.errors import UserError
    from musiclm.studio import Studio, build_app

    model = MusicLM.debug(seed=0, attributes=True, melody=True)
    studio = Studio(model, tmp_path / "takes", "debug")
    _tone(tmp_path / "hum.wav", 2.0, hz=220.0)
    take = studio.make_take("a string quartet", 2.0, 0, melody=tmp_path / "hum.wav")
    assert json.loads(Path(take["json"]).read_text())["melody"] == "hum.wav"
    y, _ = sf.read(take["wav"])
    assert len(y) == 2 * 8000
    (tmp_path / "broken.wav").write_bytes(b"RIFF not audio")
    with pytest.raises(UserError):
        studio.make_take("a string quartet", 2.0, 0, melody=tmp_path / "broken.wav")
    ids = {getattr(b, "elem_id", None) for b in build_app(model, tmp_path / "t2").blocks.values()}
    assert {"melody", "continue"} <= ids  # both inputs on the page for this model
    plain = build_app(MusicLM.debug(attributes=True), tmp_path / "t3").blocks.values()
    assert "melody" not in {getattr(b, "elem_id", None) for b in plain}


def test_a_take_follows_a_form_or_tells_a_story(debug_model, tmp_path):
    import numpy as np
    import soundfile as sf

    from musiclm.errors import UserError
    from musiclm.studio import Studio, build_app, check_inputs

    model = MusicLM.from_pretrained(debug_model)
    studio = Studio(model, tmp_path / "takes", "debug")
    take = studio.make_take("calm piano", 4.0, 1, form="intro 1, verse 2, tail 1")
    s = json.loads(Path(take["json"]).read_text())
    assert [x["name"] for x in s["form"]] == ["intro", "verse", "tail"]
    assert s["form"][-1]["end"] == 4.0 and s["ending"] == "ring-out"
    assert s["pitch_cfg"] == 0.0 and s["melody"] is None  # the CLI's sidecar fields too
    told = studio.make_take("", 4.0, 1, story="0=a techno beat\n\n2=a calm piano outro\n")
    s = json.loads(Path(told["json"]).read_text())
    assert [(p["start"], p["text"]) for p in s["story"]] == [
        (0.0, "a techno beat"), (2.0, "a calm piano outro")
    ]  # fmt: skip
    assert s["prompt"] == "a techno beat" and "a_techno_beat" in Path(told["wav"]).name
    y, _ = sf.read(told["wav"], dtype="float32")  # the API's story, to the sample
    api = model.generate(story=[(0, "a techno beat"), (2, "a calm piano outro")], seconds=4.0,
                         seed=1)[0]  # fmt: skip
    np.testing.assert_allclose(y, api, atol=1e-4)
    # each bad value is a message beside its own control
    assert check_inputs(model, "", 4.0, 0, story="0=a\n2=b") == {}
    assert set(check_inputs(model, "pop", 4.0, 0, story="0=a")) == {"story"}  # not both
    assert set(check_inputs(model, "", 4.0, 0, story="1=starts late")) == {"story"}
    assert set(check_inputs(model, "", 4.0, 0, story="no start")) == {"story"}
    assert set(check_inputs(model, "", 4.0, 0, story="0=a\n9=past the end")) == {"story"}
    assert set(check_inputs(model, "pop", 4.0, 0, form="intro 1, verse 1")) == {"form"}  # 2 s
    assert set(check_inputs(model, "pop", 4.0, 0, form="intro soon")) == {"form"}
    assert check_inputs(model, "pop", 4.0, 0, form="   ") == {}  # empty: planned
    _tone(tmp_path / "clip.wav", 1.5)
    with pytest.raises(UserError, match="cannot arrange a melody or continue"):
        studio.make_take("", 4.0, 0, story="0=a", continue_from=tmp_path / "clip.wav")
    ids = {getattr(b, "elem_id", None) for b in build_app(model, tmp_path / "t").blocks.values()}
    assert {"form", "story"} <= ids
