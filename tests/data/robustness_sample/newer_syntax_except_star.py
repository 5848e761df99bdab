def run(work):
    try:
        work()
    except* ValueError as group:
        handled = group
    else:
        handled = None
    return handled
