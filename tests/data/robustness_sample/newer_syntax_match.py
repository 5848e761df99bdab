def kind(value):
    match value:
        case {"type": str(name)}:
            return name
        case [first, *_]:
            return first
        case _:
            return None
