import functools


@functools.lru_cache(maxsize=None)
def cached(x):
    return (lambda y: lambda z: x + y + z)(1)(2)


@(lambda f: f)
def odd_decorator():
    pass
