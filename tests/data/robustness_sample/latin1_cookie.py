# -*- coding: latin-1 -*-
name = "café"


def read(path):
    with open(path) as handle:
        return handle.read()
