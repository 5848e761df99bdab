total = 1 + \
    2 + \
    3
if total and \
        total > 1:
    pass
