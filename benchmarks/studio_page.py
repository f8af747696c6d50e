"""Time `musiclm ui` to a served page and a 10 s take to its player, in headless Chromium;
save a screenshot (docs/studio.png). Needs the [ui] extra, chromium and chromedriver.

    python benchmarks/studio_page.py [--seconds 10] [--port 7869] [--shot docs/studio.png]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import urllib.request


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--port", type=int, default=7869)
    ap.add_argument("--shot", default="docs/studio.png")
    args = ap.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url = f"http://127.0.0.1:{args.port}/"
    out = tempfile.mkdtemp(prefix="studio-")
    t0 = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "musiclm.cli.main", "ui", "--port",
                               str(args.port), "--out", out])  # fmt: skip
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        served = time.perf_counter() - t0
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1300"):
            opts.add_argument(a)
        d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        wait = WebDriverWait(d, 300)
        d.get(url)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#prompt textarea"))
        d.find_element(By.CSS_SELECTOR, "#prompt textarea").send_keys(
            "A violin melody backed with 808s"
        )
        sec = d.find_element(By.CSS_SELECTOR, "#seconds input")
        sec.clear()
        sec.send_keys(str(args.seconds))
        t1 = time.perf_counter()
        d.find_element(By.CSS_SELECTOR, "#generate").click()
        want = f"0:{args.seconds:02d}"
        wait.until(lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, ".take-audio #duration")
                              if e.text == want])  # fmt: skip
        take = time.perf_counter() - t1
        time.sleep(1)
        d.save_screenshot(args.shot)
        d.quit()
    finally:
        server.terminate()
        server.wait()
    print(f"page served {served:.1f} s after `musiclm ui` started; a {args.seconds} s take "
          f"in its player {take:.1f} s after Generate; screenshot -> {args.shot}")  # fmt: skip


if __name__ == "__main__":
    main()
