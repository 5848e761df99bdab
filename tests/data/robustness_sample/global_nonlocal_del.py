cache = {}


def outer():
    value = 1

    def inner():
        nonlocal value
        global cache
        del cache
        value += 1
    return inner
