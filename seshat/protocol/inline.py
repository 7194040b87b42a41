"""Inline commands: split one line the way Redis's `sdssplitargs` (src/sds.c) does.

A command whose first byte is not `*` is a line of words (`PING`, `SET k "a b"` typed into
telnet). Redis splits it with `sdssplitargs`, whose rules this module reproduces byte for byte:

- blanks between words are any C `isspace` byte (space, \\t, \\n, \\v, \\f, \\r), but an
  unquoted word ends only at space, \\t, \\n or \\r, so \\v and \\f inside a word are kept;
- a quote may start in the middle of a word (`a"b c"` is `ab c`); a closing quote must be
  followed by a blank or the end of the line, else the whole line is "unbalanced quotes";
- inside double quotes `\\xHH` is a byte, `\\n \\r \\t \\b \\a` are controls, `\\` before any
  other byte is that byte; inside single quotes only `\\'` is an escape.

The parser owns line framing (finding `\\n`, the 64 KiB limit); this module only splits.
"""

from __future__ import annotations

_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_BLANKS = frozenset(b" \t\n\v\f\r")  # C isspace() in the "C" locale
_WORD_ENDS = frozenset(b" \n\r\t")  # the cases of the unquoted switch in sdssplitargs
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_SLOW_MARKERS = (b'"', b"'", b"\v", b"\f")


def split_inline_args(line: bytes) -> list[bytes] | None:
    """Words of one inline command line (without its line terminator); None if quotes don't balance.

    Lines with no quotes and no \\v or \\f split exactly like `bytes.split()`, which is C-fast;
    the rest take the byte-by-byte path.
    """
    for marker in _SLOW_MARKERS:
        if marker in line:
            return _split_slow(line)
    return line.split()


def _split_slow(line: bytes) -> list[bytes] | None:
    """The full `sdssplitargs` state machine, for lines with quotes, \\v or \\f."""
    words: list[bytes] = []
    pos, end = 0, len(line)
    while True:
        while pos < end and line[pos] in _BLANKS:
            pos += 1
        if pos >= end:
            return words
        word = bytearray()
        pos = _read_word(line, pos, word)
        if pos < 0:
            return None
        words.append(bytes(word))


def _read_word(line: bytes, pos: int, word: bytearray) -> int:
    """Append the word at `pos` to `word`; return the position after it, -1 on bad quotes."""
    end = len(line)
    while pos < end:
        byte = line[pos]
        if byte in _WORD_ENDS:
            return pos + 1
        if byte == 0x22:  # " : the closing quote ends the word, whatever follows
            return _read_double_quoted(line, pos + 1, word)
        if byte == 0x27:  # '
            return _read_single_quoted(line, pos + 1, word)
        word.append(byte)
        pos += 1
    return pos


def _closing_quote_ok(line: bytes, after: int) -> bool:
    """sdssplitargs: a closing quote must be followed by a blank or the end of the line."""
    return after >= len(line) or line[after] in _BLANKS


def _read_double_quoted(line: bytes, pos: int, word: bytearray) -> int:
    """Read after an opening `"` up to its closing quote; return the position after the word."""
    end = len(line)
    while pos < end:
        byte = line[pos]
        if byte == 0x5C and pos + 1 < end:  # backslash with something after it
            pos = _read_escape(line, pos, word)
        elif byte == 0x22:
            if not _closing_quote_ok(line, pos + 1):
                return -1
            return pos + 1
        else:
            word.append(byte)
            pos += 1
    return -1


def _read_escape(line: bytes, pos: int, word: bytearray) -> int:
    """Decode the escape at `pos` (a backslash inside double quotes); return the next position."""
    if (
        line[pos + 1] == 0x78  # x
        and pos + 3 < len(line)
        and line[pos + 2] in _HEX_DIGITS
        and line[pos + 3] in _HEX_DIGITS
    ):
        word.append(int(line[pos + 2 : pos + 4], 16))
        return pos + 4
    escaped = line[pos + 1]
    word.append(_ESCAPES.get(escaped, escaped))
    return pos + 2


def _read_single_quoted(line: bytes, pos: int, word: bytearray) -> int:
    """Read after an opening `'`: only `\\'` is an escape; return the position after the word."""
    end = len(line)
    while pos < end:
        byte = line[pos]
        if byte == 0x5C and pos + 1 < end and line[pos + 1] == 0x27:
            word.append(0x27)
            pos += 2
        elif byte == 0x27:
            if not _closing_quote_ok(line, pos + 1):
                return -1
            return pos + 1
        else:
            word.append(byte)
            pos += 1
    return -1
