#!/usr/bin/env bash
# Set up Holdtype from a source checkout on Debian/Ubuntu:
# system packages (apt), a virtual environment in .venv, Holdtype itself (editable), and the
# `holdtype` command: a link ~/.local/bin/holdtype -> this checkout's .venv/bin/holdtype.
#
#   bash packaging/linux/setup.sh          # what the app needs
#   bash packaging/linux/setup.sh --dev    # + test tools: Xvfb, PulseAudio, espeak-ng, llama.cpp
#
# To uninstall a checkout: rm ~/.local/bin/holdtype (the link), then delete the checkout
# (settings and history stay in ~/.config/holdtype, ~/.local/share/holdtype, ~/.cache/holdtype).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
say() { echo "holdtype setup: $*" >&2; }
DEV=0
USAGE="usage: bash packaging/linux/setup.sh [--dev]   (--dev adds the test tools)"
case "${1:-}" in
  "") ;;
  --dev) DEV=1 ;;
  -h|--help)
    echo "$USAGE"
    exit 0
    ;;
  *)
    echo "$USAGE" >&2
    exit 2
    ;;
esac

# Packages the app needs at run time: audio I/O, decoding, clipboard and key injection, Qt's xcb,
# xdg-open (the settings window's folder buttons).
APT_RUNTIME=(
  python3-venv ffmpeg libportaudio2 libasound2-plugins xclip xsel xdotool
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
  libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libegl1 libgl1
  libdbus-1-3 libfontconfig1 wl-clipboard wtype xdg-utils
)
# Packages the tests need: speech synthesis (espeak-ng; flite and festival voices for the
# benchmarks' other synthesizers, `python -m app.bench.synth --other-synths`), a virtual X
# server and window manager, a tray host, PulseAudio with a virtual source, a compiler for
# llama.cpp, desktop-file-validate (tests/test_packaging.py checks the .desktop entry with it),
# xterm (a terminal no key pastes the clipboard into: Holdtype pastes PRIMARY there), setxkbmap
# (other keyboard layouts), strace (the privacy tests watch every connection a process tries),
# git (the commit mode's staged diff), sway (a headless Wayland session for the Wayland
# paste tests) and foot (a Wayland terminal there).
APT_DEV=(
  espeak-ng sox libsox-fmt-all xvfb openbox trayer x11-utils pulseaudio pulseaudio-utils
  build-essential cmake desktop-file-utils xterm x11-xkb-utils strace git sway foot
  flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
)

PY="${PYTHON:-python3}"
if ! command -v "$PY" >/dev/null 2>&1; then
  say "no Python here named $PY; install Python 3.10 or newer (or set PYTHON=...)."
  exit 1
fi
# Holdtype needs Python 3.10 or newer: pip's own refusal comes only after the apt step, and
# names the package, not what to do.
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  say "Holdtype needs Python 3.10 or newer; $PY is $("$PY" -V 2>&1 || echo missing)."
  echo "  Install a newer Python, then run: PYTHON=python3.11 bash packaging/linux/setup.sh" >&2
  exit 1
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
PKGS=("${APT_RUNTIME[@]}")
(( DEV )) && PKGS+=("${APT_DEV[@]}")
missing=()
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
  # Not Debian or Ubuntu: the Python part still works; the system part is the user's to do.
  say "no apt here (not Debian/Ubuntu); install your system's packages for:"
  echo "  ${PKGS[*]}" >&2
  echo "  (names differ by distribution; \`holdtype doctor\` says what is still missing)" >&2
else
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if (( ${#missing[@]} )); then
  if [[ -n "$SUDO" ]] && ! command -v sudo >/dev/null; then
    say "these system packages are missing and sudo is not installed:"
    echo "  ${missing[*]}" >&2
    echo "  As root, run: apt-get install ${missing[*]}; then run this script again." >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -x "$ROOT/.venv/bin/python" ]]; then
  "$PY" -m venv "$ROOT/.venv"
fi
VPIP=("$ROOT/.venv/bin/python" -m pip install -q --disable-pip-version-check)
say "installing Holdtype and its Python packages into .venv (minutes the first time)"
"${VPIP[@]}" --upgrade pip >/dev/null
if (( DEV )); then
  "${VPIP[@]}" -e "$ROOT[dev]"
  # llama.cpp's OpenAI-compatible server for the LLM tests (compiles once; pip caches the wheel).
  if ! "$ROOT/.venv/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
    say "building llama-cpp-python (a few minutes, once)"
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}" \
      "${VPIP[@]}" 'llama-cpp-python[server]'
  fi
else
  "${VPIP[@]}" -e "$ROOT"
fi


# $1 as one word to paste into a shell: as it is when plain, else in single quotes (a checkout
# path with a space was cut in two by copy-paste: "Start it: /tmp/x/sp ace/.venv/bin/holdtype").
shell_word() {
  if [[ "$1" =~ ^[A-Za-z0-9_./+:@%,=-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# `holdtype` as a command, as README, the app's notices (`holdtype doctor`) and its welcome
# ("run `holdtype` again") name it: ~/.local/bin/holdtype links to this checkout's launcher.
# A link to another checkout's .venv is moved here; anything else there (the release that
# install.sh links, a file of the user's) is left alone. Succeeds when the link is this one's.
EXE="$ROOT/.venv/bin/holdtype"
link_command() {
  if [[ -z "${HOME:-}" ]]; then
    say "HOME is not set: no \`holdtype\` command was linked"
    return 1
  fi
  local bin_dir="$HOME/.local/bin"
  local link="$bin_dir/holdtype"
  local target
  if [[ -L "$link" ]]; then
    target=$(readlink "$link")
    if [[ "$target" == "$EXE" ]]; then
      say "the holdtype command is linked already: $(shell_word "$link") -> $(shell_word "$EXE")"
      return 0
    fi
    case "$target" in
      .venv/bin/holdtype | */.venv/bin/holdtype) ;;
      *)
        say "$link links to $target, not to a checkout's .venv: left as it is"
        return 1
        ;;
    esac
    if ! ln -sfn "$EXE" "$link"; then
      say "could not change the link $link"
      return 1
    fi
    say "linked $(shell_word "$link") -> $(shell_word "$EXE") (it linked to $target)"
    return 0
  fi
  if [[ -e "$link" ]]; then
    say "$link is a file of its own, not a link: left as it is"
    return 1
  fi
  if ! mkdir -p "$bin_dir" || ! ln -s "$EXE" "$link"; then
    say "could not link $link (is $bin_dir a writable folder?)"
    return 1
  fi
  say "linked $(shell_word "$link") -> $(shell_word "$EXE") (to uninstall: rm ~/.local/bin/holdtype)"
  return 0
}

COMMAND=""
if link_command; then
  case ":$PATH:" in
    *":$HOME/.local/bin:"* | *":$HOME/.local/bin/:"*)
      found=$(command -v holdtype || true)
      if [[ -n "$found" && "$found" -ef "$HOME/.local/bin/holdtype" ]]; then
        COMMAND="holdtype"
      elif [[ -n "$found" ]]; then
        say "note: \`holdtype\` runs $found, which comes before ~/.local/bin on your PATH"
      fi
      ;;
    *)
      case "${SHELL:-}" in
        */zsh) rc="~/.zshrc" ;;
        *) rc="~/.bashrc" ;;
      esac
      say "~/.local/bin is not on your PATH, so \`holdtype\` is not found yet; this line fixes it:"
      echo "  echo 'export PATH=\"\$HOME/.local/bin:\$PATH\"' >> $rc && export PATH=\"\$HOME/.local/bin:\$PATH\"" >&2
      ;;
  esac
fi
if [[ -n "$COMMAND" ]]; then
  say "ready. Start it: holdtype  (check the machine: holdtype doctor)"
else
  say "ready. Start it: $(shell_word "$EXE")  (check the machine: $(shell_word "$EXE") doctor)"
fi
