"""Make the Windows ``.ico`` and macOS ``.icns`` app icons from ``resources/icons/holdtype.png``.

Both formats may hold plain PNG images (ICO since Windows Vista, ICNS since macOS 10.7), so this
needs no Pillow: Qt (already a dependency) scales the 256 px PNG to each size, and the containers
are written by hand. ``packaging/holdtype.spec`` calls :func:`make_icons` into PyInstaller's work
folder; run it alone with ``python packaging/platform_icons.py OUTDIR`` to look at the results.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "resources" / "icons" / "holdtype.png"

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types that hold PNG data, with their pixel size (the @2x ones are for Retina).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"ic11", 32),
    (b"icp6", 64),
    (b"ic12", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic13", 256),
)


def png_at(source: Path, size: int) -> bytes:
    """Return ``source`` scaled to ``size``×``size`` as PNG bytes (smooth scaling, no display)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage

    image = QImage(str(source))
    if image.isNull():
        raise FileNotFoundError(f"cannot read the icon {source}")
    if image.width() != size:
        image = image.scaled(
            size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"cannot encode {source} at {size} px as PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(images: dict[int, bytes]) -> bytes:
    """Pack PNG images (by size) into an ICO file."""
    sizes = sorted(images)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, payload = b"", b""
    for size in sizes:
        data = images[size]
        dim = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset + len(payload))
        payload += data
    return header + entries + payload


def icns_bytes(images: dict[int, bytes]) -> bytes:
    """Pack PNG images (by size) into an ICNS file."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(images[size])) + images[size] for kind, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def make_icons(out_dir: Path, source: Path = SOURCE) -> tuple[Path, Path]:
    """Write ``holdtype.ico`` and ``holdtype.icns`` into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = set(ICO_SIZES) | {size for _, size in ICNS_TYPES}
    images = {size: png_at(source, size) for size in sorted(sizes)}
    ico = out_dir / "holdtype.ico"
    ico.write_bytes(ico_bytes({s: images[s] for s in ICO_SIZES}))
    icns = out_dir / "holdtype.icns"
    icns.write_bytes(icns_bytes(images))
    return ico, icns


if __name__ == "__main__":
    for path in make_icons(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(path)
