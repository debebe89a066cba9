#!/usr/bin/env python3
"""Writes the request bytes of every case in Tests/HTTPServerTests/Corpus/*.md as libFuzzer seeds
(Fuzz/Seeds/HTTPParserFuzz/NN-case.bin), each prefixed by the fuzz target's control byte."""
import pathlib, re
root = pathlib.Path(__file__).resolve().parent.parent
out = root / "Fuzz/Seeds/HTTPParserFuzz"
out.mkdir(parents=True, exist_ok=True)
def unescape(s):
    b, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            e = s[i + 1]; i += 2
            if e == "r": b.append(13)
            elif e == "n": b.append(10)
            elif e == "t": b.append(9)
            elif e == "x": b.append(int(s[i:i + 2], 16)); i += 2
            else: b.extend(e.encode())
        else:
            b.extend(c.encode()); i += 1
    return bytes(b)
n = 0
for md in sorted((root / "Tests/HTTPServerTests/Corpus").glob("*.md")):
    for block in re.findall(r"```http\n(.*?)\n```", md.read_text(), re.S):
        data = unescape("".join(block.split("\n")))
        (out / f"{n:03d}.bin").write_bytes(bytes([n % 256]) + data)
        n += 1
print(f"{n} seeds in {out}")
