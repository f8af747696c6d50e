#!/usr/bin/env bash
# Installs what pip cannot: the FluidSynth library and the FluidR3 General MIDI soundfont.
# Installs them with apt-get when it can (root, or passwordless sudo); otherwise says
# exactly what to install and exits non-zero.
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

if have_lib && have_sf2; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; }; then
  echo "installing fluidsynth and fluid-soundfont-gm with apt-get..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends fluidsynth fluid-soundfont-gm >/dev/null
  have_lib && have_sf2 && exit 0
fi

echo "error: musiclm's data engine needs FluidSynth and the FluidR3 GM soundfont, and they could not be installed here." >&2
echo "  Debian/Ubuntu: sudo apt-get install fluidsynth fluid-soundfont-gm" >&2
echo "  macOS:         brew install fluid-synth, then set MUSICLM_SOUNDFONT=/path/to/FluidR3_GM.sf2" >&2
exit 1
