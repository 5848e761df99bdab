"""The container analysis behind LK201/LK206, and the LK2 rules on small snippets."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from leaklint import registry
from leaklint.analysis.containers import Containers, KeyReason, Unbounded
from leaklint.engine import check_bytes
from leaklint.file_context import FileContext
from leaklint.model import Confidence


def _analysis(source: str) -> Containers:
    text = textwrap.dedent(source)
    return FileContext("snippet.py", text, cst.parse_module(text)).analysis(Containers)


def _codes(
    source: str, select: str = "LK2", confidence: Confidence = Confidence.HIGH
) -> list[tuple[int, str]]:
    ruleset = registry.rule_set([select], (), ["LK203"], confidence=confidence)
    result = check_bytes(textwrap.dedent(source).encode(), "snippet.py", ruleset)
    assert not result.errors, result.errors
    return [(f.line, f.code) for f in result.findings]


def _runtime(analysis: Containers, name: str) -> list[KeyReason]:
    container = analysis.module_containers[name]
    return [unbounded.reason for unbounded in analysis.runtime_growths(container)]


def test_helper_growth_reaches_the_caller_through_two_levels() -> None:
    analysis = _analysis(
        """
        _store = {}
        def _put(d, k, v):
            d[k] = v
        def _put_twice(target, key):
            _put(target, key, 1)
        def handle(request_id):
            _put_twice(_store, request_id)
        """
    )
    assert _runtime(analysis, "_store") == [KeyReason(Unbounded.REQUEST_DATA, "request_id")]


def test_function_only_called_by_the_module_body_runs_at_import() -> None:
    analysis = _analysis(
        """
        _table = []
        def _fill():
            for i in range(3):
                _table.append(i)
        _fill()
        """
    )
    assert _runtime(analysis, "_table") == []


def test_decorator_factory_registration_is_import_time() -> None:
    analysis = _analysis(
        """
        _registry = {}
        def plugin(name):
            def decorate(cls):
                _registry[name] = cls
                return cls
            return decorate
        """
    )
    assert _runtime(analysis, "_registry") == []


def test_same_name_in_another_function_does_not_count_as_a_call() -> None:
    analysis = _analysis(
        """
        _rules = []
        def rule(func):
            _rules.append(func)
            return func
        @rule
        def first(): pass
        def apply(data):
            for rule in _rules:
                rule(data)
        """
    )
    assert _runtime(analysis, "_rules") == []


@pytest.mark.parametrize(
    "eviction",
    [
        "_cache.pop(key, None)",
        "del _cache[key]",
        "weakref.finalize(key, _cache.pop, key)",
        "_cache.clear() if len(_cache) > 10 else None",
    ],
)
def test_any_eviction_in_the_module_clears_the_container(eviction: str) -> None:
    analysis = _analysis(
        f"""
        import weakref
        _cache = {{}}
        def put(request_id):
            _cache[request_id] = 1
        def drop(key):
            {eviction}
        """
    )
    assert analysis.module_containers["_cache"] in analysis.evicted


def test_tuple_alias_eviction() -> None:
    analysis = _analysis(
        """
        _handlers = []
        def add(h):
            _handlers.append(h)
        def remove(h):
            lock, handlers = None, _handlers
            handlers.remove(h)
        """
    )
    assert analysis.module_containers["_handlers"] in analysis.evicted


def test_membership_guarded_append_grows_per_distinct_value() -> None:
    analysis = _analysis(
        """
        _screens = []
        def attach(screen):
            if screen not in _screens:
                _screens.append(screen)
        """
    )
    # Once per distinct screen, and the screens are whatever callers pass: doubtful.
    (unbounded,) = analysis.runtime_growths(analysis.module_containers["_screens"])
    assert unbounded.reason == KeyReason(Unbounded.ARGUMENT, "screen")
    assert unbounded.reason.doubtful


def test_class_containers_through_every_spelling() -> None:
    source = """
        class Pool:
            a = []
            b = []
            c = {}
            d = set()
            def __init__(self):
                self.__class__.a.append(self)
                type(self).b.append(self)
                Pool.c[id(self)] = self
                self.d.add(self)
        """
    assert sorted(line for line, _ in _codes(source, "LK201")) == [3, 4, 5, 6]


def test_instance_attribute_shadows_class_attribute() -> None:
    source = """
        class Conn:
            pending = []
            def __init__(self):
                self.pending = []
            def send(self, data):
                self.pending.append(data)
        """
    assert _codes(source, "LK201") == []


def test_init_subclass_and_metaclass_registries() -> None:
    source = """
        class Base:
            registry = {}
            def __init_subclass__(cls):
                Base.registry[id(cls)] = cls
        class Meta(type):
            classes = []
            def __new__(mcs, name, bases, ns):
                cls = super().__new__(mcs, name, bases, ns)
                Meta.classes.append(cls)
                return cls
        """
    assert _codes(source, "LK201") == []


def test_mutable_default_through_module_constant_and_helper() -> None:
    source = """
        SEEN = set()
        def _mark(bucket, item):
            bucket.add(item)
        def visit(node, seen=SEEN):
            _mark(seen, node)
        """
    assert _codes(source, "LK206") == [(5, "LK206")]


def test_logger_names() -> None:
    source = """
        import logging
        PREFIX = "app"
        class Job:
            def run(self, job_id):
                logging.getLogger(f"{__name__}.{type(self).__qualname__}")
                logging.getLogger(PREFIX + ".jobs")
                logging.getLogger("%s.%s" % (PREFIX, job_id))
        def get_logger(name):
            return logging.getLogger("app." + name)
        """
    assert _codes(source, "LK205") == [(8, "LK205")]


def test_cached_method_message_counts_instances() -> None:
    source = """
        import functools
        class A:
            @functools.lru_cache(maxsize=16)
            def f(self, x): return x
        """
    ruleset = registry.rule_set(["LK202"], confidence=Confidence.MEDIUM)
    result = check_bytes(textwrap.dedent(source).encode(), "snippet.py", ruleset)
    assert "up to 16 instances" in result.findings[0].message
    assert result.findings[0].confidence is Confidence.MEDIUM


def test_unbounded_memoize_is_opt_in() -> None:
    assert "LK203" not in {rule.CODE for rule in registry.select_rules(["LK"])}
    assert "LK203" not in {rule.CODE for rule in registry.select_rules(["LK2"])}
    assert "LK203" in {rule.CODE for rule in registry.select_rules(["LK2"], (), ["LK203"])}


def test_handler_guard_in_the_caller() -> None:
    source = """
        import logging
        def _attach(logger):
            logger.addHandler(logging.StreamHandler())
        def unguarded(name):
            _attach(logging.getLogger(name))
        def guarded(name):
            logger = logging.getLogger(name)
            if not logger.handlers:
                _attach(logger)
        """
    assert _codes(source, "LK204", Confidence.MEDIUM) == [(4, "LK204")]
    assert (
        _codes(
            source.replace("            _attach(logging.getLogger(name))\n", "            pass\n"),
            "LK204",
            Confidence.MEDIUM,
        )
        == []
    )


def test_the_rule_words_every_reason_the_analysis_gives() -> None:
    from leaklint.rules.unbounded_module_cache import UnboundedModuleCache

    assert set(UnboundedModuleCache.REASONS) == set(Unbounded)
    for words in UnboundedModuleCache.REASONS.values():
        assert words.format(subject="x")
