#!/usr/bin/python3
"""Writes the dataset-loader fixtures in tests/data/datasets/ (run from the repo root with
/usr/bin/python3; needs numpy + PIL). Real-format files made by an independent encoder
(PIL), plus the expected composited RGB of each image in expected.json, so the C tests check
decoding and alpha compositing against numbers not produced by stb."""
import json, os, io
import numpy as np
from PIL import Image

D = "tests/data/datasets"
os.makedirs(D + "/images", exist_ok=True)
BG = (10, 200, 30)  # declared background used by the tests
exp = {}

def save(name, img, **kw):
    img.save(os.path.join(D, "images", name), **kw)

def composite(rgba):
    a = rgba[..., 3:4].astype(np.int64)
    c = rgba[..., :3].astype(np.int64)
    bg = np.array(BG, dtype=np.int64)
    return ((c * a + bg * (255 - a) + 127) // 255).astype(np.uint8)

# RGBA 4x3 with varying alpha
rgba = np.zeros((3, 4, 4), np.uint8)
for y in range(3):
    for x in range(4):
        rgba[y, x] = (60 * x, 80 * y, 200, [0, 85, 170, 255][x])
save("rgba.png", Image.fromarray(rgba, "RGBA"))
exp["rgba.png"] = composite(rgba).tolist()

# palette PNG with a transparent index
pal = Image.new("P", (3, 2))
pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 9))
pal.putdata([0, 1, 2, 2, 1, 0])
save("palette.png", pal, transparency=1)
p_rgba = np.array(Image.open(os.path.join(D, "images", "palette.png")).convert("RGBA"))
exp["palette.png"] = composite(p_rgba).tolist()

# 16-bit greyscale PNG: stb reduces to 8 bits by taking the high byte (v >> 8)
g16 = np.array([[0, 256 * 128 + 7, 65535], [1000, 30000, 50000]], np.uint16)
Image.fromarray(g16).save(os.path.join(D, "images", "gray16.png"))
g8 = (g16 >> 8).astype(np.uint8)
exp["gray16.png"] = np.stack([g8] * 3, -1).tolist()

# greyscale JPEG (lossy: the test only checks size and grey-ness)
gj = np.tile(np.linspace(0, 255, 8).astype(np.uint8), (8, 1))
Image.fromarray(gj, "L").save(os.path.join(D, "images", "gray.jpg"), quality=95)

# BMP, GIF (two frames: the first is used), TGA
rgb = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]], np.uint8)
save("rgb.bmp", Image.fromarray(rgb, "RGB"))
exp["rgb.bmp"] = rgb.tolist()
f1 = Image.fromarray(rgb, "RGB").convert("P", palette=Image.ADAPTIVE, colors=4)
f2 = Image.fromarray(255 - rgb, "RGB").convert("P", palette=Image.ADAPTIVE, colors=4)
f1.save(os.path.join(D, "images", "anim.gif"), save_all=True, append_images=[f2], duration=100)
exp["anim.gif"] = np.array(f1.convert("RGB")).tolist()
save("rgb.tga", Image.fromarray(rgb, "RGB"))
exp["rgb.tga"] = rgb.tolist()

# truncated PNG and an empty file
buf = io.BytesIO()
Image.fromarray((np.arange(32 * 32 * 3) % 251).astype(np.uint8).reshape(32, 32, 3)).save(buf, "PNG")
b = buf.getvalue()
open(os.path.join(D, "images", "truncated.png"), "wb").write(b[: len(b) // 2])
open(os.path.join(D, "images", "empty.png"), "wb").close()

with open(os.path.join(D, "expected.json"), "w") as f:
    json.dump({"background": BG, "images": exp}, f)

def jl(name, rows):
    with open(os.path.join(D, name), "w") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r)) + "\n")

# good pairs file: every format, plus a text-only record (no image) and an id-less record
jl("pairs.jsonl", [
    {"id": "rgba", "image": "images/rgba.png", "text": "a transparent gradient"},
    {"id": "palette", "image": "images/palette.png", "text": "three palette colours"},
    {"id": "gray16", "image": "images/gray16.png", "text": "sixteen bit grey"},
    {"id": "grayjpg", "image": "images/gray.jpg", "text": "a grey ramp"},
    {"id": "bmp", "image": "images/rgb.bmp", "text": "four pixels"},
    {"id": "gif", "image": "images/still.gif", "text": "first frame"},  # make_image_limit_fixtures.py
    {"id": "tga", "image": "images/rgb.tga", "text": "targa"},
    {"id": "textonly", "text": "a caption without an image"},
    {"image": "images/rgb.bmp", "text": "no id given"},
])

# bad records, one problem each (line numbers are asserted by the tests)
jl("bad.jsonl", [
    {"id": "ok", "image": "images/rgb.bmp", "text": "fine"},                 # 1
    {"id": "trunc", "image": "images/truncated.png", "text": "truncated"},  # 2
    {"id": "empty", "image": "images/empty.png", "text": "0 bytes"},        # 3
    {"id": "escape", "image": "../escape.png", "text": "leaves the root"},  # 4
    {"id": "absolute", "image": "/etc/hostname", "text": "absolute"},       # 5
    {"id": "missing", "image": "images/nope.png", "text": "not there"},     # 6
    "{\"id\": \"broken\", \"image\": ",                                      # 7
    {"id": "neither"},                                                       # 8
    {"id": "ok2", "image": "images/rgb.tga", "text": "also fine"},          # 9
])
jl("noimage.jsonl", [
    {"id": "a", "image": "images/rgb.bmp", "text": "has one"},
    {"id": "b", "text": "missing image"},
])
# a file outside the dataset folder for the escape test

minicpm = [
    {"id": "m0", "image": "images/rgb.bmp", "conversations": [
        {"role": "user", "content": "<image>\nWhat is in the image?"},
        {"role": "assistant", "content": "Four coloured pixels."}]},
    {"id": "m1", "image": "images/rgba.png", "conversations": [
        {"from": "human", "value": "Describe it.\n<image>"},
        {"from": "gpt", "value": "A gradient with transparency."},
        {"from": "human", "value": "More?"},
        {"from": "gpt", "value": "No."}]},
    {"id": "m2", "conversations": [
        {"role": "user", "content": "Say hello."},
        {"role": "assistant", "content": "Hello."}]},
]
with open(os.path.join(D, "minicpm.json"), "w") as f:
    json.dump(minicpm, f, indent=2)
multi = [
    {"id": "single", "image": "images/rgb.bmp", "conversations": [
        {"role": "user", "content": "<image>\nWhat?"}, {"role": "assistant", "content": "Pixels."}]},
    {"id": "multi", "image": {"<image_00>": "images/rgb.bmp", "<image_01>": "images/rgb.tga"},
     "conversations": [
        {"role": "user", "content": "<image_00>\n<image_01>\nCompare."},
        {"role": "assistant", "content": "Same."}]},
]
with open(os.path.join(D, "multi.json"), "w") as f:
    json.dump(multi, f, indent=2)

# text
jl("docs.jsonl", [{"id": "d1", "text": "The quick brown fox."}, {"text": "Jumps over the dog."},
                  {"id": "d3", "text": "Ünïcödé is fine."}])
with open(os.path.join(D, "plain.txt"), "w") as f:
    f.write("first line\nsecond line of para one\n\n  third, second paragraph  \n\n\nlast\n")
open(os.path.join(D, "badutf8.txt"), "wb").write(b"good line\nbad \xff\xfe line\nfine again\n")
print("fixtures written to", D)
