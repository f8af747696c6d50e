#!/usr/bin/env bash
# Installs what pip cannot: the FluidSynth library and the FluidR3 General MIDI soundfont,
# and (for the studio's browser test, optional) Chromium with its chromedriver.
# Installs them with apt-get when it can (root, or passwordless sudo); otherwise says
# exactly what to install and exits non-zero (a missing browser only skips that test).
set -euo pipefail

have_lib() { ldconfig -p 2>/dev/null | grep -q 'libfluidsynth\.so' || ls /usr/lib/*/libfluidsynth.so.* >/dev/null 2>&1 || ls /opt/homebrew/lib/libfluidsynth* >/dev/null 2>&1; }
have_sf2() {
  [ -n "${MUSICLM_SOUNDFONT:-}" ] && [ -f "$MUSICLM_SOUNDFONT" ] && return 0
  for f in /usr/share/sounds/sf2/FluidR3_GM.sf2 /usr/share/soundfonts/FluidR3_GM.sf2 \
           /usr/local/share/soundfonts/FluidR3_GM.sf2 /opt/homebrew/share/soundfonts/FluidR3_GM.sf2; do
    [ -f "$f" ] && return 0
  done
  return 1
}

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
can_apt() { command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; }; }

# tests/test_studio.py drives the page in headless Chromium; without it that test skips
if ! { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }; then
  if can_apt; then
    echo "installing chromium and chromium-driver with apt-get (the studio's browser test)..."
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      chromium chromium-driver >/dev/null || echo "note: chromium not installed; the browser test will skip" >&2
  else
    echo "note: no chromium + chromedriver (apt-get install chromium chromium-driver); the browser test will skip" >&2
  fi
fi

if have_lib && have_sf2; then
  exit 0
fi
if can_apt; then
  echo "installing fluidsynth and fluid-soundfont-gm with apt-get..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends fluidsynth fluid-soundfont-gm >/dev/null
  have_lib && have_sf2 && exit 0
fi

echo "error: musiclm's data engine needs FluidSynth and the FluidR3 GM soundfont, and they could not be installed here." >&2
echo "  Debian/Ubuntu: sudo apt-get install fluidsynth fluid-soundfont-gm" >&2
echo "  macOS:         brew install fluid-synth, then set MUSICLM_SOUNDFONT=/path/to/FluidR3_GM.sf2" >&2
exit 1
