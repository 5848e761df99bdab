"""The resource and concurrency rules' text triggers come from `specs`: every factory, however
a file spells its call, passes its rule's pre-check (text triggers, then the ``ast`` screen)."""

from __future__ import annotations

import textwrap

import pytest

from leaklint import registry
from leaklint.analysis import specs
from leaklint.engine import check_bytes
from leaklint.model import Confidence
from leaklint.screen import Screen


def _spellings(qualified: str) -> list[str]:
    """Ways a function creates the object of ``qualified`` (``module.name``)."""
    module, _, name = qualified.rpartition(".")
    if module == "builtins":
        return [f"def f(p):\n    x = {name}(p)\n"]
    return [
        f"import {module}\n\ndef f(p):\n    x = {module}.{name}(p)\n",
        f"from {module} import {name} as made\n\ndef f(p):\n    x = made(p)\n",
        f"import {module} as alias\n\ndef f(p):\n    x = alias.{name}(p)\n",
    ]


@pytest.mark.parametrize("qualified", sorted(specs.FACTORIES))
def test_every_factory_passes_its_rules_pre_check(qualified: str) -> None:
    codes = {spec.code for spec in specs.FACTORIES[qualified]}
    for code in codes:
        rule = registry.find_rule(code)
        for text in _spellings(qualified):
            assert rule.may_report(Screen(text)), (code, text)


@pytest.mark.parametrize("owner, method", sorted(specs.METHOD_FACTORIES))
def test_every_method_factory_passes_its_rules_pre_check(owner: str, method: str) -> None:
    constructors = [name for name, made in specs.TYPE_CONSTRUCTORS.items() if made == owner]
    assert constructors, owner
    for code in {spec.code for spec in specs.METHOD_FACTORIES[(owner, method)]}:
        rule = registry.find_rule(code)
        for constructor in constructors:
            module, _, name = constructor.rpartition(".")
            text = f"import {module}\n\ndef f(p):\n    x = {module}.{name}(p).{method}()\n"
            assert rule.may_report(Screen(text)), (code, text)
            annotated = f"from {module} import {name}\n\ndef f(p: {name}):\n    x = p.{method}()\n"
            assert rule.may_report(Screen(annotated)), (code, annotated)


def test_a_socket_file_is_reported_where_no_word_open_is_written() -> None:
    """The trigger came from a hand-kept list once: an unclosed ``sock.makefile()`` was found
    only if the word "open" occurred somewhere in the file."""
    source = textwrap.dedent(
        """\
        import socket

        def lines(host):
            with socket.create_connection((host, 79)) as sock:
                reader = sock.makefile("r")
                return reader.readline()
        """
    )
    result = check_bytes(source.encode(), "finger.py", registry.rule_set(["LK301"]))
    assert [finding.code for finding in result.findings] == ["LK301"]
    assert "makefile" in result.findings[0].message


def test_a_worker_loop_started_by_the_task_constructor_is_screened_in() -> None:
    """LK102's triggers come from the calls the worker analysis knows: ``asyncio.Task(...)``
    runs a coroutine as ``create_task`` does, though no hand-kept word named it."""
    source = textwrap.dedent(
        """\
        import asyncio

        async def pump(queue):
            while True:
                print(await queue.get())

        def start(queue):
            return asyncio.Task(pump(queue))
        """
    )
    ruleset = registry.rule_set(["LK102"], confidence=Confidence.MEDIUM)
    result = check_bytes(source.encode(), "pump.py", ruleset)
    assert [(finding.line, finding.code) for finding in result.findings] == [(4, "LK102")]
