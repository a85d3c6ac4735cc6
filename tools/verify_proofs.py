#!/usr/bin/env python3
"""Checks IncidentLedger checkpoints and proofs with no IncidentLedger code: Python's standard library and PyPI's
`cryptography` (formats: docs/verifying-format.md). VKEY is a signed-note verifier key, <name>+<id>+<key>.
Usage: verify_proofs.py checkpoint|inclusion|consistency --key VKEY [--key ...] [--event LINE_FILE] FILE...
Exit 0 when all verify, 1 naming the first that does not, 2 on bad usage."""
import argparse, base64, binascii, hashlib, json, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

class Failure(Exception): pass  # why a check failed, in one line
def require(condition, reason):
    if not condition: raise Failure(reason)

def strict(text):  # JSON with no duplicate key
    return json.loads(text, object_pairs_hook=lambda p: require(len({k for k, _ in p}) == len(p), "a duplicate key") or dict(p))

def same(a, b):  # JSON equality that keeps types apart: true is not 1, 1 is not 1.0
    if isinstance(a, dict) and type(b) is dict:
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and (len(a) == len(b) and all(map(same, a, b)) if isinstance(a, list) else a == b)

def b64(text, what, size=None):  # strict: only the canonical spelling, so that no value has two
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise Failure(f"{what} is not base64")
    canonical = base64.b64encode(raw).decode() == text and size in (None, len(raw))
    require(canonical, f"{what} is not canonical base64" + (f" of {size} bytes" if size else ""))
    return raw

def valid_name(name):
    return name != "" and "+" not in name and not any(c.isspace() or ord(c) < 0x20 for c in name)

def parse_key(vkey):
    name, key_id, data = (vkey.split("+", 2) + ["", ""])[:3]
    raw = b64(data, f"the key data of {vkey}")
    require(valid_name(name) and len(raw) == 33 and raw[0] == 1, f"{vkey} is not an Ed25519 verifier key")
    key_hash = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    require(key_id == key_hash.hex(), f"the key ID of {vkey} does not match its key")
    return (name, key_hash), Ed25519PublicKey.from_public_bytes(raw[1:])

def open_note(text, keys):
    """The body of a signed note and its trusted signers, once every trusted signature verified."""
    require(all(ord(c) >= 0x20 or c == "\n" for c in text), "the note contains a control character")
    split = text.rfind("\n\n")
    require(split >= 0 and text.endswith("\n") and split + 2 < len(text), "no signature lines after a blank line")
    body, signed = text[: split + 1], []
    for line in text[split + 2 : -1].split("\n"):
        name, _, sig = line[2:].partition(" ")
        raw = b64(sig, f"the signature by {name}") if line.startswith("\u2014 ") else b""
        require(valid_name(name) and len(raw) >= 5, f"malformed signature line {line!r}")
        if (key := keys.get((name, raw[:4]))) is not None:
            try:
                key.verify(raw[4:], body.encode())
            except InvalidSignature:
                raise Failure(f"the signature by trusted key {name}+{raw[:4].hex()} does not verify")
            signed.append(f"{name}+{raw[:4].hex()}")
    require(signed, "no signature from a trusted key")
    return body, signed

def checkpoint(text, keys):
    """(origin, size, root, signers) of a signed C2SP tlog-checkpoint."""
    body, signers = open_note(text, keys)
    lines = body[:-1].split("\n")
    require(len(lines) >= 3 and "" not in lines, "the checkpoint is not origin, size, root, non-empty extensions")
    size = lines[1]
    decimal = size.isascii() and size.isdigit() and (size == "0" or not size.startswith("0"))
    require(decimal and int(size) < 2**64, f"the checkpoint's tree size {size!r} is not a decimal number")
    return lines[0], int(size), b64(lines[2], "the checkpoint's root", 32), signers

def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()

def climb(fn, sn, start, path):
    """RFC 9162's walk up a proof (§2.1.3.2, §2.1.4.2): (hash over left siblings only, hash over all)."""
    fr = sr = start
    for c in path:
        require(sn != 0, "the proof has more hashes than the sizes need")
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    require(sn == 0, "the proof has fewer hashes than the sizes need")
    return fr, sr

def verify_consistency(m, n, old, new, path):
    require(m <= n, f"the old size {m} is larger than the new size {n}")
    if m == 0 or m == n:  # nothing to prove; the old root is the empty tree's, or the new root
        empty_or_same = hashlib.sha256(b"").digest() if m == 0 else new
        require(not path and old == empty_or_same, f"sizes {m} and {n} take an empty proof and roots that agree")
        return
    path = [old] + path if m & (m - 1) == 0 else path  # an old tree of 2^k leaves is a node of the new one
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    consistent = path and climb(fn, sn, path[0], path[1:]) == (old, new)
    require(consistent, f"the tree of size {n} is not a consistent extension of the tree of size {m}")

def check(kind, text, keys, event):
    if kind == "checkpoint":
        origin, size, _, signers = checkpoint(text, keys)
        return f"{origin} at size {size}, signed by {', '.join(signers)}"
    doc = strict(text)
    require(doc.get("type") == kind, f"the proof's type is {doc.get('type')!r}, not {kind!r}")
    for member in ("treeSize", "leafIndex") if kind == "inclusion" else ("oldSize", "newSize"):
        require(type(doc[member]) is int and doc[member] >= 0, f"{member} is not a non-negative integer")
    hashes = [b64(h, f"hashes[{i}]", 32) for i, h in enumerate(doc["hashes"])]
    if kind == "consistency":
        old, new = checkpoint(doc["old"], keys), checkpoint(doc["new"], keys)
        require(old[0] == new[0] and (old[1], new[1]) == (doc["oldSize"], doc["newSize"]), "the checkpoints are not of one log at oldSize and newSize")
        verify_consistency(old[1], new[1], old[2], new[2], hashes)
        return f"{new[0]} at size {new[1]} extends size {old[1]}"
    origin, size, root, signers = checkpoint(doc["checkpoint"], keys)
    leaf_hash, leaf, index = b64(doc["leafHash"], "leafHash", 32), doc.get("leaf"), doc["leafIndex"]
    if event is not None:  # the event as `ledger read --format ndjson` prints it: the leaf is it, without "hash"
        require(leaf is not None and same(strict(leaf), {k: v for k, v in event.items() if k != "hash"}), "the proof's leaf is not this event")
        ok = hashlib.sha256(leaf.encode()).hexdigest() == event.get("hash") and same(event["position"], index + 1)
        require(ok, "the event's hash is not that of its bytes, or its position is not leafIndex + 1")
    require(leaf is None or hashlib.sha256(b"\x00" + leaf.encode()).digest() == leaf_hash, "leafHash is not the leaf's")
    require(size == doc["treeSize"] > index, f"leaf {index} of treeSize {doc['treeSize']} is not in the checkpoint")
    require(climb(index, size - 1, leaf_hash, hashes)[1] == root, f"the proof of leaf {index} misses the root")
    return f"leaf {index} is in {origin} at size {size}" + ("" if leaf else " (its hash only)")

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["checkpoint", "inclusion", "consistency"])
    parser.add_argument("--key", action="append", required=True, help="a trusted verifier key (repeatable)")
    parser.add_argument("--event", help="inclusion: the event's exported NDJSON line, to check it is the leaf")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    try:
        event, where = None, "--key"
        keys = dict(parse_key(vkey) for vkey in args.key)  # (name, key ID) -> key
        require(len(keys) == len(set(args.key)), "two different trusted keys have the same name and key ID")
        if args.event:
            where = args.event
            with open(args.event, encoding="utf-8") as f:
                require(isinstance(event := strict(f.readline()), dict), "the event is not a JSON object")
        for where in args.files:
            with open(where, encoding="utf-8") as f:
                print(f"ok: {where}: {check(args.kind, f.read(), keys, event)}")
    except (Failure, OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
        sys.exit(f"verify_proofs: {where}: {e if isinstance(e, Failure) else f'malformed input: {e!r}'}")

if __name__ == "__main__":
    main()
