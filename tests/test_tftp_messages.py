"""The words of the TFTP suites' content comparisons (pure functions, no sandbox)."""
from __future__ import annotations

import warnings

with warnings.catch_warnings():  # the suite's @check marks are registered by netgrade's plugin, not here
    warnings.simplefilter("ignore")
    from netgrade.suites.test_tftp import _diff


def test_same_size_other_content_says_what_differs_and_where():
    want = bytes(range(65, 91)) * 50  # 1300 bytes of A..Z
    got = bytearray(want)
    got[700] = 0x2A  # '*' where 'Y' was: block 2, offset 700
    msg = _diff(bytes(got), want)
    assert "1300 bytes instead of 1300" not in msg
    assert msg.startswith("same size (1300 bytes) but other content: 1 byte differs"), msg
    assert "first difference at byte 700 (block 2)" in msg
    assert 'got 2a' in msg and 'expected 59' in msg
    assert '"*' in msg and '"Y' in msg  # the text around it, when it is text


def test_other_size_names_both_sizes():
    want = b"x" * 1300
    msg = _diff(want[:1000], want)
    assert msg.startswith("1000 bytes instead of 1300; first difference at byte 1000 (block 2)"), msg
    assert "got nothing" in msg


def test_partly_read_file_of_the_right_size():
    want = b"a" * 1300
    msg = _diff(b"a" * 600, want, size=1300)
    assert "1300 bytes instead of 1300" not in msg and "600" in msg, msg


def test_identical():
    assert _diff(b"abc", b"abc") == "identical"
