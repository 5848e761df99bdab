first, *rest = [*range(3), *{4: 5}]
merged = {**{'a': 1}, **dict(b=2)}
print(*rest, **{'sep': ','})
