café = 1
π = 3.14159


def übersicht(Δ):
    return Δ * π
