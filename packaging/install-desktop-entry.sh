#!/usr/bin/env bash
# Add unet_studio to the desktop's application menu (Linux, freedesktop.org desktops),
# for the current user only: no root needed.
#
#   packaging/install-desktop-entry.sh                 # uses `unet-studio` found on PATH
#   packaging/install-desktop-entry.sh --exec PATH     # e.g. dist/unet-studio/unet-studio (the bundle)
#   packaging/install-desktop-entry.sh --uninstall     # remove what it installed
#
# Installs into ${XDG_DATA_HOME:-~/.local/share}:
#   applications/unet-studio.desktop
#   icons/hicolor/<N>x<N>/apps/unet-studio.png  (16 ... 512)
#   icons/hicolor/scalable/apps/unet-studio.svg
set -euo pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
apps_dir="$data_home/applications"
icons_root="$data_home/icons/hicolor"
sizes=(16 32 48 64 128 256 512)
exec_path=""
uninstall=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        --exec) [[ $# -ge 2 ]] || { echo "install-desktop-entry: --exec needs a path" >&2; exit 2; }
                exec_path="$2"; shift 2 ;;
        --uninstall) uninstall=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install-desktop-entry: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
done

refresh_caches() {
    # Menus pick up changes without these on most desktops; they just make it quicker.
    command -v update-desktop-database >/dev/null && update-desktop-database -q "$apps_dir" 2>/dev/null || true
    # Only refresh an icon cache that is already there: creating one in the user's
    # folder would hide icons that other programs later install without updating it.
    if [[ -f "$icons_root/icon-theme.cache" ]] && command -v gtk-update-icon-cache >/dev/null; then
        gtk-update-icon-cache -q -t "$icons_root" 2>/dev/null || true
    fi
}

if [[ $uninstall -eq 1 ]]; then
    rm -f "$apps_dir/unet-studio.desktop" "$icons_root/scalable/apps/unet-studio.svg"
    for n in "${sizes[@]}"; do rm -f "$icons_root/${n}x${n}/apps/unet-studio.png"; done
    refresh_caches
    echo "Removed unet_studio from the application menu."
    exit 0
fi

# The program the menu entry starts.
if [[ -z "$exec_path" ]]; then
    exec_path="$(command -v unet-studio || true)"
    [[ -n "$exec_path" ]] || { echo "install-desktop-entry: 'unet-studio' is not on PATH; give --exec PATH" >&2; exit 2; }
fi
[[ -x "$exec_path" && ! -d "$exec_path" ]] || { echo "install-desktop-entry: '$exec_path' is not an executable file" >&2; exit 2; }
exec_path="$(cd "$(dirname "$exec_path")" && pwd)/$(basename "$exec_path")"

# The icons: from a source checkout, or from inside a PyInstaller bundle.
icon_dir=""
for candidate in "$here/../resources/icons" \
                 "$(dirname "$exec_path")/_internal/unet_studio/resources/icons"; do
    if [[ -f "$candidate/unet-studio.svg" ]]; then icon_dir="$(cd "$candidate" && pwd)"; break; fi
done
if [[ -z "$icon_dir" ]]; then
    # An installed wheel: ask the package where its icons are.
    python_bin="$(head -n1 "$exec_path" 2>/dev/null | sed -n 's/^#!\(.*python[0-9.]*\)$/\1/p')"
    if [[ -n "$python_bin" && -x "$python_bin" ]]; then
        icon_dir="$("$python_bin" -c 'from unet_studio.resources import icon_path; print(icon_path().parent)' 2>/dev/null || true)"
    fi
fi
[[ -n "$icon_dir" && -f "$icon_dir/unet-studio.svg" ]] || { echo "install-desktop-entry: cannot find the unet_studio icons" >&2; exit 2; }

mkdir -p "$apps_dir" "$icons_root/scalable/apps"
install -m 644 "$icon_dir/unet-studio.svg" "$icons_root/scalable/apps/unet-studio.svg"
for n in "${sizes[@]}"; do
    mkdir -p "$icons_root/${n}x${n}/apps"
    install -m 644 "$icon_dir/unet-studio-$n.png" "$icons_root/${n}x${n}/apps/unet-studio.png"
done

# Point Exec/TryExec at the chosen program, quoted in case the path has spaces.
# Characters that need the desktop spec's escaping rules are simply refused.
case "$exec_path" in
    *[\"\`\$\\]*) echo "install-desktop-entry: please use a path without \" \` \$ or \\ characters: $exec_path" >&2; exit 2 ;;
esac
tmp="$apps_dir/.unet-studio.desktop.tmp"
while IFS= read -r line; do
    case "$line" in
        Exec=unet-studio*) printf 'Exec="%s"%s\n' "$exec_path" "${line#Exec=unet-studio}" ;;
        TryExec=*) printf 'TryExec=%s\n' "$exec_path" ;;
        *) printf '%s\n' "$line" ;;
    esac
done < "$here/unet-studio.desktop" > "$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$apps_dir/unet-studio.desktop"   # atomic: the menu never sees half a file
refresh_caches
echo "Installed unet_studio in the application menu (starts $exec_path)."
