"""Text on PDF pages without a layout engine: the bill of sale and the watermark footers of data-room downloads.

Latin-1 runs are set in Helvetica; everything else (Chinese names and titles) in the standard CJK font STSong-Light
with the UTF-16 CMap, which PDF readers supply themselves, so nothing is embedded and no character becomes "?".
"""

from collections.abc import Sequence
from itertools import groupby

from pypdf import PageObject
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

LATIN, CJK = "/MkLatin", "/MkCJK"  # resource names unlikely to clash with a stamped page's own fonts


def text_page(
    width: float, height: float, lines: Sequence[tuple[float, float, float, str]], *, rgb: str = "0 0 0"
) -> PageObject:
    """A blank page with lines of text, each (x, y, size, text), in colour `rgb` ("r g b", 0 to 1)."""
    operations = [f"BT {rgb} rg {x:g} {y:g} Td {_shown(text, size)} ET" for x, y, size, text in lines]
    page = PageObject.create_blank_page(width=width, height=height)
    content = DecodedStreamObject()
    content.set_data("\n".join(operations).encode("ascii"))
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): _fonts()})
    page[NameObject("/Contents")] = content
    return page


def _shown(text: str, size: float) -> str:
    operations = []
    for latin, run in groupby(" ".join(text.split()), key=lambda char: ord(char) < 256):
        chunk = "".join(run)
        if latin:  # a literal string: WinAnsi codes, escaped; bytes above 127 written as octal escapes
            escaped = chunk.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            literal = "".join(char if ord(char) < 128 else f"\\{ord(char):03o}" for char in escaped)
            operations.append(f"{LATIN} {size:g} Tf ({literal}) Tj")
        else:
            operations.append(f"{CJK} {size:g} Tf <{chunk.encode('utf-16-be').hex()}> Tj")
    return " ".join(operations)


def _name(value: str) -> NameObject:
    return NameObject(value)


def _fonts() -> DictionaryObject:
    latin = DictionaryObject(
        {
            _name("/Type"): _name("/Font"),
            _name("/Subtype"): _name("/Type1"),
            _name("/BaseFont"): _name("/Helvetica"),
            _name("/Encoding"): _name("/WinAnsiEncoding"),
        }
    )
    descriptor = DictionaryObject(
        {
            _name("/Type"): _name("/FontDescriptor"),
            _name("/FontName"): _name("/STSong-Light"),
            _name("/Flags"): NumberObject(6),
            _name("/FontBBox"): ArrayObject([NumberObject(n) for n in (-25, -254, 1000, 880)]),
            _name("/ItalicAngle"): NumberObject(0),
            _name("/Ascent"): NumberObject(880),
            _name("/Descent"): NumberObject(-120),
            _name("/CapHeight"): NumberObject(880),
            _name("/StemV"): NumberObject(93),
        }
    )
    cid_font = DictionaryObject(
        {
            _name("/Type"): _name("/Font"),
            _name("/Subtype"): _name("/CIDFontType0"),
            _name("/BaseFont"): _name("/STSong-Light"),
            _name("/CIDSystemInfo"): DictionaryObject(
                {
                    _name("/Registry"): TextStringObject("Adobe"),
                    _name("/Ordering"): TextStringObject("GB1"),
                    _name("/Supplement"): NumberObject(4),
                }
            ),
            _name("/FontDescriptor"): descriptor,
            _name("/DW"): NumberObject(1000),  # full-width glyphs
        }
    )
    cjk = DictionaryObject(
        {
            _name("/Type"): _name("/Font"),
            _name("/Subtype"): _name("/Type0"),
            _name("/BaseFont"): _name("/STSong-Light-UniGB-UTF16-H"),
            _name("/Encoding"): _name("/UniGB-UTF16-H"),  # character codes are UTF-16BE
            _name("/DescendantFonts"): ArrayObject([cid_font]),
        }
    )
    return DictionaryObject({_name(LATIN): latin, _name(CJK): cjk})
