s = '\N{SNOWMAN} ☃ 😀'
b = b'\x00\xff'
