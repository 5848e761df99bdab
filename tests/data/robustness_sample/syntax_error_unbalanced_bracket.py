values = [1, 2, 3

def after():
    return values
