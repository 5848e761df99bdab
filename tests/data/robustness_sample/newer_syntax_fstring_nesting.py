names = ['a', 'b']
text = f"{'\n'.join(f'{n!r:>{len(n) + 2}}' for n in names)}"
