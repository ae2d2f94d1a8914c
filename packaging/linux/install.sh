#!/usr/bin/env bash
# Install Holdtype from the unpacked release archive, for the current user only (no root):
#
#   ./install.sh              # copy to ~/.local/opt/holdtype, link ~/.local/bin/holdtype,
#                             # add the menu entry and icon under ~/.local/share
#   ./install.sh --uninstall  # remove all of that again (your settings and history stay)
#
# PREFIX=/some/dir ./install.sh uses /some/dir instead of ~/.local.
#
# The install keeps a copy of this script as ~/.local/opt/holdtype/uninstall.sh, so that the
# download is not needed to uninstall: run there, it removes the install it is part of.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${PREFIX:-$HOME/.local}"
UNINSTALL=0
if [[ -f "$HERE/holdtype" ]]; then
  # The copy in an install folder (beside the binary, where the archive has the folder
  # holdtype/): it uninstalls that install, whatever PREFIX says now.
  case "$HERE" in
    */opt/holdtype) PREFIX="${HERE%/opt/holdtype}" ;;
    *)
      echo "holdtype install: $HERE is not an install folder (PREFIX/opt/holdtype); nothing was removed" >&2
      exit 1
      ;;
  esac
  case "${1:-}" in
    "" | --uninstall) UNINSTALL=1 ;;
    *)
      echo "usage: $0   (removes the Holdtype installed in $HERE)" >&2
      exit 2
      ;;
  esac
elif [[ "${1:-}" == "--uninstall" ]]; then
  UNINSTALL=1
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--uninstall]" >&2
  exit 2
fi
OPT="$PREFIX/opt/holdtype"
BIN="$PREFIX/bin/holdtype"
SHARE="$PREFIX/share"
DESKTOP="$SHARE/applications/holdtype.desktop"
ICON="$SHARE/icons/hicolor/256x256/apps/holdtype.png"

say() { echo "holdtype install: $*" >&2; }

refresh_caches() {
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$SHARE/applications" 2>/dev/null || true
  command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" 2>/dev/null || true
}

if (( UNINSTALL )); then
  # A Holdtype running from here would lose its files under it (its About box, its icons and
  # the next dictation failed with tracebacks): it is asked to be quit first.
  running=""
  for exe in /proc/[0-9]*/exe; do
    target=$(readlink "$exe" 2>/dev/null) || continue
    case "$target" in
      "$OPT/"*) pid=${exe%/exe}; running="$running ${pid#/proc/}" ;;
    esac
  done
  if [[ -n "$running" ]]; then
    say "Holdtype is running from $OPT (pid$running): quit it first (its tray menu's Quit, or"
    say "  the settings window's Quit Holdtype), then run this again; nothing was removed"
    exit 1
  fi
  # Where the settings, history and models are, asked of the binary before it goes (HOLDTYPE_HOME
  # or XDG folders may have moved them): printed as the folders to delete to remove them too.
  kept=""
  if [[ -x "$OPT/holdtype" ]]; then
    kept=$("$OPT/holdtype" config paths 2>/dev/null | awk -F '\t' '$1 == "config" { sub(/\/[^\/]*$/, "", $2) } $1 == "config" || $1 == "data" || $1 == "cache" { print "  " $2 }') || kept=""
  fi
  rm -rf "$OPT"  # (this script too, when it is the copy there: bash reads on from the open file)
  # The command, when it is this install's (a source checkout's setup.sh may have linked its own)
  removed_bin=""
  if [[ -L "$BIN" && "$(readlink "$BIN")" == "$OPT/holdtype" ]]; then
    rm -f "$BIN"
    removed_bin="$BIN, "
  fi
  rm -f "$DESKTOP" "$ICON"
  # "Start at login" (settings window) wrote this entry to run the binary just removed.
  AUTOSTART="${XDG_CONFIG_HOME:-$HOME/.config}/autostart/holdtype.desktop"
  if [[ -f "$AUTOSTART" ]] && grep -qF "$OPT/holdtype" "$AUTOSTART"; then
    rm -f "$AUTOSTART"
    say "removed the start-at-login entry $AUTOSTART"
  fi
  refresh_caches
  say "removed $OPT, $removed_bin$DESKTOP and $ICON"
  if [[ -L "$BIN" ]]; then
    say "left $BIN, which links to $(readlink "$BIN"), not to this install"
  fi
  if [[ -n "$kept" ]]; then
    say "your settings, history and downloaded models are kept; delete these to remove them too:"
    printf '%s\n' "$kept" >&2
  else
    say "your settings, history and downloaded models are kept (in ~/.config/holdtype,"
    say "  ~/.local/share/holdtype and ~/.cache/holdtype, unless HOLDTYPE_HOME or XDG folders moved them)"
  fi
  exit 0
fi

if [[ ! -x "$HERE/holdtype/holdtype" ]]; then
  say "$HERE/holdtype/holdtype is missing: run this script from the unpacked archive"
  exit 1
fi

# Copy beside the old version, then swap: a running Holdtype keeps its (deleted) files.
mkdir -p "$PREFIX/opt" "$PREFIX/bin" "$SHARE/applications" "$(dirname "$ICON")"
rm -rf "$OPT.new" "$OPT.old"
cp -a "$HERE/holdtype" "$OPT.new"
install -m 0755 "${BASH_SOURCE[0]}" "$OPT.new/uninstall.sh"  # uninstalls without the download
[[ -e "$OPT" ]] && mv "$OPT" "$OPT.old"
mv "$OPT.new" "$OPT"
rm -rf "$OPT.old"
ln -sfn "$OPT/holdtype" "$BIN"

install -m 0644 "$HERE/holdtype.png" "$ICON"
# The menu entry runs the installed binary by its full path: ~/.local/bin may not be on the
# desktop session's PATH.
# Quoted as the Desktop Entry spec wants (as exec_line in app/autostart.py does): in
# the Exec argument " ` $ \ take a backslash, then every backslash is doubled and % is %%; in
# TryExec only backslashes double. (Put in by sed, a prefix with & or | wrote a wrong path.)
exec_path=$(printf '%s' "$OPT/holdtype" | sed -e 's/[\\"`$]/\\&/g' -e 's/\\/\\\\/g' -e 's/%/%%/g')
try_path=$(printf '%s' "$OPT/holdtype" | sed -e 's/\\/\\\\/g')
while IFS= read -r line || [[ -n "$line" ]]; do
  case "$line" in
    "Exec=holdtype"*) printf 'Exec="%s"%s\n' "$exec_path" "${line#Exec=holdtype}" ;;
    "TryExec=holdtype"*) printf 'TryExec=%s%s\n' "$try_path" "${line#TryExec=holdtype}" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$HERE/holdtype.desktop" > "$DESKTOP"
chmod 0644 "$DESKTOP"
refresh_caches

say "installed $("$OPT/holdtype" --version) in $OPT"
say "command: $BIN; menu entry: $DESKTOP; to uninstall: $OPT/uninstall.sh"
case ":$PATH:" in
  *":$PREFIX/bin:"*) ;;
  *) say "note: $PREFIX/bin is not on your PATH; add it, or run $OPT/holdtype" ;;
esac
say "next: run 'holdtype doctor' to check the microphone, display and paste tools"
