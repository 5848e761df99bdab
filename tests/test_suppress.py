"""noqa and leaklint: ignore comments, with flake8's logical-line semantics."""

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


def test_logical_line_spans_physical_lines() -> None:
    source = "x = call(\n    a,\n    b,\n)  # noqa: LK105\ny = 2\n"
    suppressions = Suppressions(source)
    assert all(suppressions.is_suppressed(line, "LK105") for line in (1, 2, 3, 4))
    assert not suppressions.is_suppressed(5, "LK105")


def test_noqa_can_be_left_to_flake8() -> None:
    suppressions = Suppressions("x = f()  # noqa: LK105\ny = g()  # leaklint: ignore[LK105]\n",
                                honor_noqa=False)
    assert not suppressions.is_suppressed(1, "LK105")
    assert suppressions.is_suppressed(2, "LK105")


def test_hash_in_string_is_not_a_comment() -> None:
    assert not Suppressions('x = "# noqa"\n').is_suppressed(1, "LK105")
