"""Build the fallback fonts in assets/fonts/ from Debian's Noto packages.

The card's own face, Plus Jakarta Sans, covers Latin only. Headlines in other scripts
are set in Noto Sans (OFL 1.1, no reserved font name, so subsets may keep the name):

- ``NotoSans-Bold.ttf``: Latin, Greek and Cyrillic, as Debian ships it;
- ``NotoSansArabicLatin-Bold.ttf``: Noto Sans Arabic merged with Noto Sans's Latin, so an
  Arabic headline with a Latin name or number is set in one face;
- ``NotoSansCJKsc-Bold.subset.otf``: Noto Sans CJK SC, cut down to the level-1
  ideographs of GB 2312 (3,755 hanzi, the national standard set of everyday Chinese)
  and of JIS X 0208 (2,965 kanji), kana, the 2,350 Hangul syllables of KS X 1001, the
  symbol rows of all three, CJK punctuation and full-width forms, plus Latin, Greek
  and Cyrillic. The full collection is 20 MB; the subset keeps the repository small.
  A character outside it fails the post, naming its script.

Run on a Debian machine (the versions are the ones the shipped files came from):

    apt-get download fonts-noto-core=20201225-1 fonts-noto-cjk=1:20220127+repack1-1
    for d in fonts-noto-*.deb; do dpkg-deb -x "$d" noto; done
    python scripts/build_fonts.py noto
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.merge import Merger
from fontTools.ttLib import TTCollection, TTFont

OUT = Path(__file__).resolve().parent.parent / "assets" / "fonts"


def _codec_chars(codec: str, lead: range, trail: range) -> set[int]:
    """Every character a double-byte codec can encode (GB 2312, JIS X 0208, KS X 1001)."""
    chars: set[int] = set()
    for a in lead:
        for b in trail:
            try:
                text = bytes((a, b)).decode(codec)
            except UnicodeDecodeError:
                continue
            chars.update(ord(c) for c in text)
    return chars


def cjk_unicodes() -> set[int]:
    """The code points kept in the CJK subset."""
    trail = range(0xA1, 0xFF)
    symbols = range(0xA1, 0xB0)  # rows 1-15 of each set: punctuation, kana, symbols
    chars = _codec_chars("gb2312", symbols, trail)
    chars |= _codec_chars("gb2312", range(0xB0, 0xD8), trail)  # GB 2312 level 1
    chars |= _codec_chars("euc_jp", symbols, trail)
    chars |= _codec_chars("euc_jp", range(0xB0, 0xD0), trail)  # JIS X 0208 level 1
    chars |= _codec_chars("euc_kr", symbols, trail)
    chars |= _codec_chars("euc_kr", range(0xB0, 0xC9), trail)  # KS X 1001 Hangul
    blocks = [
        (0x0020, 0x024F),  # Latin
        (0x0370, 0x03FF),  # Greek
        (0x0400, 0x04FF),  # Cyrillic
        (0x2000, 0x206F),  # general punctuation
        (0x3000, 0x303F),  # CJK symbols and punctuation
        (0x3040, 0x30FF),  # hiragana, katakana
        (0x31F0, 0x31FF),  # katakana phonetic extensions
        (0xFF00, 0xFFEF),  # half-width and full-width forms
    ]
    for start, end in blocks:
        chars.update(range(start, end + 1))
    return chars


def _subset(font: TTFont, unicodes: set[int], features: list[str] | None = None) -> TTFont:
    options = subset.Options()
    options.layout_features = features or ["*"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    return font


def main(root: Path) -> None:
    """Write the three fallback fonts from the unpacked Debian packages under ``root``."""
    noto = root / "usr/share/fonts/truetype/noto"
    cjk = root / "usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
    latin = TTFont(noto / "NotoSans-Bold.ttf")
    latin.save(OUT / "NotoSans-Bold.ttf")

    # Arabic plus the Latin letters it lacks (its digits and punctuation stay its own).
    arabic_path = noto / "NotoSansArabic-Bold.ttf"
    arabic_cmap = set(TTFont(arabic_path).getBestCmap())
    latin_only = _subset(TTFont(noto / "NotoSans-Bold.ttf"),
                         set(range(0x20, 0x250)) - arabic_cmap | {0x20})
    latin_only_path = OUT / "_latin.tmp.ttf"
    latin_only.save(latin_only_path)
    try:
        merged = Merger().merge([str(arabic_path), str(latin_only_path)])
    finally:
        latin_only_path.unlink()
    names = merged["name"]
    for record in names.names:
        if record.nameID in (1, 3, 4, 6, 16):
            text = record.toUnicode()
            record.string = text.replace("Noto Sans Arabic", "Noto Sans Arabic Latin").replace(
                "NotoSansArabic", "NotoSansArabicLatin")
    merged.save(OUT / "NotoSansArabicLatin-Bold.ttf")

    collection = TTCollection(str(cjk))
    sc = next(f for f in collection.fonts
              if f["name"].getDebugName(4) == "Noto Sans CJK SC Bold")
    # Horizontal setting only: vertical forms, the Japanese, Korean and traditional
    # locl variants and the width alternates would triple the glyph count.
    features = ["ccmp", "calt", "kern", "liga", "mark", "mkmk"]
    _subset(sc, cjk_unicodes(), features).save(OUT / "NotoSansCJKsc-Bold.subset.otf")
    for path in sorted(OUT.glob("Noto*")):
        print(f"{path.name}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
