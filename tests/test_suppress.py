"""noqa and leaklint: ignore comments, read as flake8 reads noqa."""

from __future__ import annotations

import pytest

from leaklint.suppress import Suppressions


@pytest.mark.parametrize(
    ("comment", "line_codes"),
    [
        ("# noqa", {"LK105": True, "LK301": True}),
        ("# noqa: LK105", {"LK105": True, "LK301": False}),
        ("# noqa:LK105,LK301", {"LK105": True, "LK301": True}),
        ("# NOQA: LK1", {"LK105": True, "LK301": False}),
        ("# leaklint: ignore[LK301]", {"LK105": False, "LK301": True}),
        ("# leaklint: ignore", {"LK105": True, "LK301": True}),
        ("# a comment", {"LK105": False}),
    ],
)
def test_comment_forms(comment: str, line_codes: dict[str, bool]) -> None:
    suppressions = Suppressions(f"x = f()  {comment}\n")
    for code, suppressed in line_codes.items():
        assert suppressions.is_suppressed(1, code) is suppressed


def test_brackets_do_not_join_lines_but_strings_and_backslashes_do() -> None:
    source = 'x = call(\n    a,\n)  # noqa: LK105\ny = """\n"""  # noqa\nz = 1 + \\\n 2  # noqa\n'
    suppressions = Suppressions(source)
    assert [suppressions.is_suppressed(line, "LK105") for line in range(1, 8)] == [
        False, False, True, True, True, True, True
    ]


def test_noqa_can_be_left_to_flake8() -> None:
    suppressions = Suppressions("x = f()  # noqa: LK105\ny = g()  # leaklint: ignore[LK105]\n",
                                honor_noqa=False)
    assert not suppressions.is_suppressed(1, "LK105")
    assert suppressions.is_suppressed(2, "LK105")


def test_noqa_is_searched_in_the_line_text_as_flake8_does() -> None:
    # flake8 matches its pattern against the physical line, strings included; so do we.
    assert Suppressions('x = "# noqa"\n').is_suppressed(1, "LK105")
    assert Suppressions('x = "# leaklint: ignore"\n').is_suppressed(1, "LK105")


def test_a_line_that_silences_a_similar_check_is_marked_deliberate() -> None:
    source = (
        "task = loop.create_task(run())  # noqa: F841 - keep a hard reference\n"
        "f = open(p)  # pylint: disable=consider-using-with, R1732\n"
        "g = open(p)  # noqa: E501\n"
        "h = open(p)\n"
    )
    suppressions = Suppressions(source)
    assert suppressions.marks_deliberate(1, ("RUF006", "F841"))
    assert suppressions.marks_deliberate(2, ("SIM115", "consider-using-with"))
    assert not suppressions.marks_deliberate(3, ("SIM115", "consider-using-with"))
    assert not suppressions.marks_deliberate(4, ("SIM115",))


def test_a_deliberate_line_is_reported_only_at_medium() -> None:
    from leaklint import registry
    from leaklint.engine import check_bytes
    from leaklint.model import Confidence

    source = b"def f(p):\n    return open(p).read()  # noqa: SIM115\n"
    assert check_bytes(source, "m.py", registry.rule_set(["LK301"])).findings == ()
    medium = registry.rule_set(["LK301"], confidence=Confidence.MEDIUM)
    [finding] = check_bytes(source, "m.py", medium).findings
    assert finding.confidence is Confidence.MEDIUM


@pytest.mark.parametrize(
    ("header", "doubtful"),
    [
        ('"""Tools.\n\nNote: this module is pretty much obsolete."""\n', True),
        ('"""This module is deprecated; use `new` instead."""\n', True),
        ("import warnings\nwarnings.warn('gone soon', DeprecationWarning)\n", True),
        ("import warnings\nwarnings._deprecated(__name__, remove=(3, 13))\n", True),
        ('"""Handles deprecated options of the old config format."""\n', False),
        ("import warnings\nwarnings.warn('careful', UserWarning)\n", False),
    ],
)
def test_a_module_on_its_way_out_is_reported_at_medium(header: str, doubtful: bool) -> None:
    from leaklint import registry
    from leaklint.engine import check_bytes
    from leaklint.model import Confidence

    source = (header + "def f(p):\n    return open(p).read()\n").encode()
    medium = registry.rule_set(["LK301"], confidence=Confidence.MEDIUM)
    [finding] = check_bytes(source, "m.py", medium).findings
    assert (finding.confidence is Confidence.MEDIUM) is doubtful
