def open_it(path):
    return open(path)