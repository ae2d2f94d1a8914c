"""Draw Holdtype's tray and app icons into ``resources/icons/`` (PNG, several sizes).

Run from a checkout: ``python packaging/make_icons.py``. It needs no display (Qt's offscreen
platform). The icons are simple: a microphone on a coloured disc, one colour per state.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "icons"

# state -> (disc colour, microphone colour, badge)
STATES: dict[str, tuple[str, str, str | None]] = {
    "idle": ("#37474f", "#eceff1", None),
    "recording": ("#d32f2f", "#ffffff", None),
    "busy": ("#f9a825", "#263238", "dots"),
    "error": ("#37474f", "#eceff1", "error"),
    "disabled": ("#9e9e9e", "#f5f5f5", "slash"),
}
SIZES = (22, 32, 64, 256)


def draw_icon(size: int, disc: str, mic: str, badge: str | None) -> QImage:
    """Return a ``size``×``size`` icon: a microphone on a disc, with an optional badge."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 64.0
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(disc))
    p.drawEllipse(QRectF(2 * s, 2 * s, 60 * s, 60 * s))
    # microphone capsule
    p.setBrush(QColor(mic))
    p.drawRoundedRect(QRectF(24 * s, 12 * s, 16 * s, 26 * s), 8 * s, 8 * s)
    # cradle and stand
    pen = QPen(QColor(mic), 4 * s)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    cradle = QPainterPath()
    cradle.moveTo(18 * s, 30 * s)
    cradle.cubicTo(18 * s, 48 * s, 46 * s, 48 * s, 46 * s, 30 * s)
    p.drawPath(cradle)
    p.drawLine(QPointF(32 * s, 44 * s), QPointF(32 * s, 52 * s))
    p.drawLine(QPointF(24 * s, 52 * s), QPointF(40 * s, 52 * s))
    if badge == "slash":
        pen = QPen(QColor("#424242"), 6 * s)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        p.drawLine(QPointF(14 * s, 14 * s), QPointF(50 * s, 50 * s))
    elif badge == "error":
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#e53935"))
        p.drawEllipse(QRectF(36 * s, 36 * s, 28 * s, 28 * s))
        p.setBrush(QColor("#ffffff"))
        p.drawRoundedRect(QRectF(47.5 * s, 40 * s, 5 * s, 13 * s), 2 * s, 2 * s)
        p.drawEllipse(QRectF(47.5 * s, 55 * s, 5 * s, 5 * s))
    elif badge == "dots":
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#263238"))
        for i in range(3):
            p.drawEllipse(QRectF((40 + i * 7) * s, 54 * s, 5 * s, 5 * s))
    p.end()
    return image


def main() -> int:
    """Write every state icon at every size, plus ``holdtype.png`` (the app icon)."""
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)
    for state, (disc, mic, badge) in STATES.items():
        for size in SIZES:
            path = OUT / f"{state}-{size}.png"
            if not draw_icon(size, disc, mic, badge).save(str(path)):
                raise SystemExit(f"could not write {path}")
    draw_icon(256, *STATES["idle"][:2], None).save(str(OUT / "holdtype.png"))
    del app
    print(f"icons written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
