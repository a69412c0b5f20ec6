#!/usr/bin/python3
"""Generate tests/data/safetensors/: valid safetensors files (every dtype, scalar, empty
tensor, metadata, unaligned header, sharded checkpoint with index and config.json) and the
malformed cases test_safetensors.c must reject, each with its expected status and message
fragment (malformed.json). The bytes are written by hand with struct/json, independently of
mergeval's reader and writer. Run once with /usr/bin/python3 and commit the output."""
import json
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "safetensors")

SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "I32": 4, "U32": 4, "I64": 8,
         "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1, "F16": 2, "BF16": 2, "F32": 4, "F64": 8}


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def raw_file(path, header_bytes, data=b""):
    """Write 8-byte little-endian length + header bytes + data, no checks at all."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)) + header_bytes + data)


def st_file(path, tensors, metadata=None, align=8, pad=b" ", odd=False):
    """tensors: list of (name, dtype, shape, data bytes) in data order."""
    header, off, blob = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in tensors:
        assert len(data) == numel(shape) * SIZES[dtype], name
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blob += data
    h = json.dumps(header, separators=(",", ":")).encode()
    if align:
        h += pad * ((-len(h)) % align)
    if odd:  # header length = 3 mod 8: every tensor's data starts unaligned
        h += b" " * ((3 - len(h)) % 8)
    raw_file(path, h, blob)
    return header


def pattern(n, seed):
    return bytes(((i * 37 + seed * 11 + 5) & 0xFF) for i in range(n))


def describe(tensors, metadata):
    return {"tensors": [{"name": n, "dtype": d, "shape": s, "hex": b.hex()}
                        for n, d, s, b in tensors],
            "metadata": metadata or {}}


def f16(vals):
    return b"".join(struct.pack("<e", v) for v in vals)


def f32(vals):
    return b"".join(struct.pack("<f", v) for v in vals)


def bf16(vals):
    # exact bf16 values only (top 16 bits of the f32)
    return b"".join(struct.pack("<f", v)[2:4] for v in vals)


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    expected = {}

    # ---------------------------------------------------------------- valid files
    every = []
    for i, (dt, size) in enumerate(SIZES.items()):
        shape = [2, 3] if i % 2 == 0 else [5]
        every.append(("t." + dt.lower(), dt, shape, pattern(numel(shape) * size, i)))
    every.append(("scalar", "F32", [], f32([3.5])))
    every.append(("empty", "F16", [0, 3], b""))
    every.append(("bools", "BOOL", [4], bytes([0, 1, 1, 0])))
    every.append(("f8.e4m3", "F8_E4M3", [2, 2], bytes([0x38, 0xB8, 0x7E, 0x00])))
    every.append(("f8.e5m2", "F8_E5M2", [3], bytes([0x3C, 0x7C, 0xFF])))
    meta = {"format": "pt", "note": "tab\there \"quoted\" \u00e9"}
    st_file(os.path.join(ROOT, "valid", "all_dtypes.safetensors"), every, meta)
    expected["valid/all_dtypes.safetensors"] = describe(every, meta)

    # odd header length: data not aligned (valid for the reference implementation)
    un = [("h", "F16", [3], f16([1.0, -2.5, 65504.0])),
          ("b", "BF16", [2], bf16([1.0, -0.15625])),
          ("f", "F32", [2], f32([0.25, -8.0])),
          ("d", "F64", [1], struct.pack("<d", 1.0 / 3.0))]
    st_file(os.path.join(ROOT, "valid", "unaligned.safetensors"), un, None, align=0, odd=True)
    expected["valid/unaligned.safetensors"] = describe(un, None)

    # header keys in another order than the data (sorted names, __metadata__ last), as
    # other writers produce: tensors are reported in data (offset) order
    od = [("z.last_name", "F32", [2], f32([1.5, 2.5])), ("a.first_name", "BF16", [3], bf16([1, 2, 3])),
          ("m.middle", "U8", [1], b"\x07")]
    hdr_obj, off = {}, 0
    for n, d, shp, b in od:
        hdr_obj[n] = {"data_offsets": [off, off + len(b)], "shape": shp, "dtype": d}
        off += len(b)
    text = "{" + ",".join('"%s":%s' % (k, json.dumps(hdr_obj[k])) for k in sorted(hdr_obj))
    text += ',"__metadata__":{"format":"pt"}}'
    raw_file(os.path.join(ROOT, "valid", "header_order_differs.safetensors"), text.encode(),
             b"".join(b for _, _, _, b in od))
    expected["valid/header_order_differs.safetensors"] = describe(od, {"format": "pt"})

    st_file(os.path.join(ROOT, "valid", "no_tensors.safetensors"), [], {"only": "metadata"})
    expected["valid/no_tensors.safetensors"] = describe([], {"only": "metadata"})

    # directory with one model.safetensors and config.json
    d1 = [("w", "F32", [2, 2], f32([1, 2, 3, 4])), ("b", "F32", [2], f32([0.5, -0.5]))]
    st_file(os.path.join(ROOT, "valid", "dir_single", "model.safetensors"), d1, {"format": "pt"})
    with open(os.path.join(ROOT, "valid", "dir_single", "config.json"), "w") as f:
        f.write('{"model_type": "toy", "hidden_size": 2}\n')
    expected["valid/dir_single"] = describe(d1, {"format": "pt"})

    # sharded checkpoint (HF layout) with layers, F8 and BOOL tensors
    s1, s2 = [], []
    for layer in range(3):
        for proj in ("q_proj", "k_proj"):
            name = "llm.model.layers.%d.self_attn.%s.weight" % (layer, proj)
            (s1 if layer < 2 else s2).append(
                (name, "BF16", [4, 4], pattern(32, layer * 2 + len(proj))))
    s1.insert(0, ("llm.model.embed_tokens.weight", "BF16", [8, 4], pattern(64, 99)))
    s2.append(("llm.model.norm.weight", "F32", [4], f32([1, 1, 1, 1])))
    s2.append(("vpm.scale_f8", "F8_E4M3", [4], bytes([0x38, 0x40, 0x48, 0x50])))
    s2.append(("vpm.mask", "BOOL", [2, 2], bytes([1, 0, 0, 1])))
    sdir = os.path.join(ROOT, "valid", "sharded")
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    st_file(os.path.join(sdir, names[0]), s1, {"format": "pt"})
    st_file(os.path.join(sdir, names[1]), s2, {"format": "pt"})
    wm = {n: names[0] for n, _, _, _ in s1}
    wm.update({n: names[1] for n, _, _, _ in s2})
    total = sum(len(b) for _, _, _, b in s1 + s2)
    with open(os.path.join(sdir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total},
                   "weight_map": dict(sorted(wm.items()))}, f, indent=2)
    with open(os.path.join(sdir, "config.json"), "w") as f:
        f.write('{"architectures": ["ToyForCausalLM"], "num_hidden_layers": 3}\n')
    expected["valid/sharded"] = describe(s1 + s2, {"format": "pt"})
    expected["valid/sharded"]["n_shards"] = 2

    with open(os.path.join(ROOT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)

    # ---------------------------------------------------------------- malformed files
    bad = []
    M = os.path.join(ROOT, "malformed")
    os.makedirs(M, exist_ok=True)

    def case(name, status, substr):
        bad.append({"path": "malformed/" + name, "status": status, "substr": substr})

    def hdr(obj_text, data=b"", name=None, **kw):
        raw_file(os.path.join(M, name), obj_text.encode() if isinstance(obj_text, str)
                 else obj_text, data)

    def one(dtype="F32", shape=(2,), offsets=(0, 8), extra=""):
        return ('{"w":{"dtype":%s,"shape":%s,"data_offsets":%s}%s}'
                % (json.dumps(dtype), json.dumps(list(shape)), json.dumps(list(offsets)), extra))

    with open(os.path.join(M, "empty_file.safetensors"), "wb"):
        pass
    case("empty_file.safetensors", "format", "truncated: 0 bytes")
    with open(os.path.join(M, "truncated_5_bytes.safetensors"), "wb") as f:
        f.write(b"\x10\x00\x00\x00\x00")
    case("truncated_5_bytes.safetensors", "format", "truncated: 5 bytes")
    with open(os.path.join(M, "header_len_past_eof.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 1000) + b'{"a":1}')
    case("header_len_past_eof.safetensors", "format", "header length 1000 is larger than the file")
    with open(os.path.join(M, "header_over_cap.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 100000001) + b"{}      ")
    case("header_over_cap.safetensors", "format", "exceeds the cap of 100000000")
    with open(os.path.join(M, "header_len_huge.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 2**64 - 1) + b"{}      ")
    case("header_len_huge.safetensors", "format", "exceeds the cap")
    # truncated data: valid header, data cut short
    raw_file(os.path.join(M, "truncated_data.safetensors"), one().encode(), b"\x00" * 5)
    case("truncated_data.safetensors", "format", "tensor w: data_offsets [0, 8] out of bounds")
    hdr("[1, 2]", name="header_array.safetensors")
    case("header_array.safetensors", "format", "not a JSON object")
    hdr('{"a": ', name="invalid_json.safetensors")
    case("invalid_json.safetensors", "format", "not valid JSON")
    hdr(b'{"w\xff":{}}', name="invalid_utf8.safetensors")
    case("invalid_utf8.safetensors", "format", "not valid UTF-8")
    hdr(b'{"w":{}}\x00\x00', name="nul_in_header.safetensors")
    case("nul_in_header.safetensors", "format", "is NUL")
    hdr("   {}", name="header_leading_space.safetensors")
    case("header_leading_space.safetensors", "format", "must start with '{'")
    hdr('{} x', name="trailing_chars_in_header.safetensors")
    case("trailing_chars_in_header.safetensors", "format", "trailing characters")
    hdr(one(dtype="F4"), b"\x00" * 8, name="unknown_dtype.safetensors")
    case("unknown_dtype.safetensors", "format", "tensor w: unknown dtype \"F4\"")
    hdr(one(dtype="f32"), b"\x00" * 8, name="lowercase_dtype.safetensors")
    case("lowercase_dtype.safetensors", "format", "unknown dtype \"f32\"")
    hdr('{"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}', b"\x00" * 8,
        name="dtype_not_string.safetensors")
    case("dtype_not_string.safetensors", "format", "tensor w: \"dtype\" must be a string")
    hdr('{"w":{"dtype":"F32","data_offsets":[0,8]}}', b"\x00" * 8, name="missing_shape.safetensors")
    case("missing_shape.safetensors", "format", "tensor w: \"shape\" is missing")
    hdr(one(shape=(-2,)), b"\x00" * 8, name="negative_dim.safetensors")
    case("negative_dim.safetensors", "format", "tensor w: shape[0] is negative")
    hdr(one(shape=(1.5,)), b"\x00" * 8, name="fractional_dim.safetensors")
    case("fractional_dim.safetensors", "format", "tensor w: shape[0] must be a non-negative integer")
    hdr(one(shape=(2**40, 2**40)), b"\x00" * 8, name="shape_overflow.safetensors")
    case("shape_overflow.safetensors", "format", "tensor w: shape overflows")
    hdr(one(offsets=(-8, 0)), b"\x00" * 8, name="negative_offset.safetensors")
    case("negative_offset.safetensors", "format", "tensor w: data_offsets[0] is negative")
    hdr('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551624]}}',
        b"\x00" * 8, name="overflowing_offset.safetensors")
    case("overflowing_offset.safetensors", "format", "tensor w: data_offsets[1] is not a valid byte offset")
    hdr(one(offsets=(0, "8")), b"\x00" * 8, name="offset_string.safetensors")
    case("offset_string.safetensors", "format", "data_offsets[1] is not a valid byte offset")
    hdr(one(offsets=(0,)), b"\x00" * 8, name="offsets_one_element.safetensors")
    case("offsets_one_element.safetensors", "format", "\"data_offsets\" must be an array [begin, end]")
    hdr(one(offsets=(8, 0)), b"\x00" * 8, name="offsets_end_before_begin.safetensors")
    case("offsets_end_before_begin.safetensors", "format", "tensor w: data_offsets end 0 is before begin 8")
    hdr(one(offsets=(8, 16)), b"\x00" * 8, name="offsets_out_of_bounds.safetensors")
    case("offsets_out_of_bounds.safetensors", "format", "tensor w: data_offsets [8, 16] out of bounds")
    hdr('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
        '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', b"\x00" * 12,
        name="offsets_overlap.safetensors")
    case("offsets_overlap.safetensors", "format", "tensor b: data_offsets [4, 12] overlap tensor a")
    hdr('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
        '"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}', b"\x00" * 20,
        name="offsets_gap.safetensors")
    case("offsets_gap.safetensors", "format", "tensor b: gap of 4 bytes")
    hdr(one(offsets=(4, 12)), b"\x00" * 12, name="offsets_not_from_zero.safetensors")
    case("offsets_not_from_zero.safetensors", "format", "tensor w: gap of 4 bytes")
    hdr(one(shape=(3,)), b"\x00" * 8, name="shape_dtype_mismatch.safetensors")
    case("shape_dtype_mismatch.safetensors", "format", "tensor w: data_offsets [0, 8] span 8 bytes but shape [3] of F32 needs 12")
    hdr(one(), b"\x00" * 12, name="trailing_bytes.safetensors")
    case("trailing_bytes.safetensors", "format", "4 trailing bytes after the last tensor")
    hdr(one(extra=',"__metadata__":{"a":1}'), b"\x00" * 8, name="metadata_non_string.safetensors")
    case("metadata_non_string.safetensors", "format", "__metadata__.a: value must be a string")
    hdr(one(extra=',"__metadata__":["x"]'), b"\x00" * 8, name="metadata_not_object.safetensors")
    case("metadata_not_object.safetensors", "format", "__metadata__ must be an object")
    hdr('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
        '"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', b"\x00" * 8,
        name="duplicate_name.safetensors")
    case("duplicate_name.safetensors", "format", "tensor w: duplicate tensor name")
    hdr('{"w":5}', name="entry_not_object.safetensors")
    case("entry_not_object.safetensors", "format", "tensor w: entry must be an object")

    # sharded
    def shard_dir(name, files, index_text):
        d = os.path.join(M, name)
        os.makedirs(d, exist_ok=True)
        for fname, tensors in files.items():
            st_file(os.path.join(d, fname), tensors, {"format": "pt"})
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            f.write(index_text if isinstance(index_text, str) else json.dumps(index_text))
        return d

    A = [("a", "F32", [2], f32([1, 2]))]
    B = [("b", "F32", [2], f32([3, 4]))]
    n1, n2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    good_index = {"metadata": {"total_size": 16}, "weight_map": {"a": n1, "b": n2}}
    shard_dir("shard_missing", {n1: A}, good_index)
    case("shard_missing", "not_found", "shard model-00002-of-00002.safetensors (holding tensor b) is missing")
    shard_dir("index_names_absent_tensor", {n1: A, n2: B},
              {"weight_map": {"a": n1, "b": n2, "c": n2}})
    case("index_names_absent_tensor", "format", "tensor c is mapped to shard model-00002-of-00002.safetensors, which does not contain it")
    shard_dir("shard_has_unlisted_tensor", {n1: A, n2: B + [("extra", "U8", [1], b"\x01")]},
              good_index)
    case("shard_has_unlisted_tensor", "format", "tensor extra is not listed in the index")
    shard_dir("tensor_in_two_shards", {n1: A + [("b", "F32", [2], f32([0, 0]))], n2: B},
              good_index)
    case("tensor_in_two_shards", "format", "tensor b is also here, but the index")
    shard_dir("index_invalid_json", {n1: A, n2: B}, '{"weight_map": {"a": ')
    case("index_invalid_json", "format", "not valid JSON")
    shard_dir("index_no_weight_map", {n1: A, n2: B}, {"metadata": {}})
    case("index_no_weight_map", "format", "\"weight_map\" is missing")
    shard_dir("index_not_object", {n1: A, n2: B}, "[]")
    case("index_not_object", "format", "must be a JSON object")
    shard_dir("index_path_escape", {n1: A, n2: B},
              {"weight_map": {"a": "../" + n1, "b": n2}})
    case("index_path_escape", "format", "weight_map.a must be the file name of a shard")
    shard_dir("index_value_not_string", {n1: A, n2: B}, {"weight_map": {"a": 1, "b": n2}})
    case("index_value_not_string", "format", "weight_map.a must be the file name of a shard")
    d = shard_dir("shard_malformed", {n1: A}, good_index)
    raw_file(os.path.join(d, n2), one(shape=(3,)).encode(), b"\x00" * 8)
    case("shard_malformed", "format", "model-00002-of-00002.safetensors: tensor w: data_offsets [0, 8] span 8 bytes")
    os.makedirs(os.path.join(M, "dir_without_weights"), exist_ok=True)
    with open(os.path.join(M, "dir_without_weights", "config.json"), "w") as f:
        f.write("{}\n")
    case("dir_without_weights", "not_found", "malformed/dir_without_weights: no")
    case("no_such_file.safetensors", "not_found", "no_such_file.safetensors")

    with open(os.path.join(ROOT, "malformed.json"), "w") as f:
        json.dump(bad, f, indent=1)
    print("%d valid entries, %d malformed cases in %s" % (len(expected), len(bad), ROOT))


if __name__ == "__main__":
    main()
