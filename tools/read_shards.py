#!/usr/bin/env python3
"""Read tokenmix's training-ready token shards back, from the byte layout documented in
docs/training-shards.md alone (no tokenmix code): Megatron-LM indexed datasets (.bin + .idx,
MMIDIDX version 1) and the flat `tokens` format (.bin + .docs, dtype from mixed/meta.json).

Usage: read_shards.py DIR/mixed [--ids]
Prints one JSON object: format, dtype, eod token, per-document token counts (end-of-document
token excluded) in plan order, and with --ids every document's token ids. Exits 1 with a message
when a file breaks the layout (bad magic, sizes that do not add up, a document without its
end-of-document token, or one holding it before its end).
"""
import json
import os
import struct
import sys

import numpy as np

# Megatron's DType codes (megatron/core/datasets/indexed_dataset.py).
MEGATRON_DTYPES = {1: 'u1', 2: 'i1', 3: 'i2', 4: 'i4', 5: 'i8', 6: 'f8', 7: 'f4', 8: 'u2'}
NAMED_DTYPES = {'uint16': '<u2', 'int32': '<i4'}


class LayoutError(Exception):
    pass


def check(condition, message):
    if not condition:
        raise LayoutError(message)


def read_megatron(prefix):
    """Documents of one .bin/.idx pair, each a numpy array of ids; and the dtype name."""
    with open(prefix + '.idx', 'rb') as f:
        idx = f.read()
    check(idx[:9] == b'MMIDIDX\x00\x00', f'{prefix}.idx: bad magic {idx[:9]!r}')
    (version,) = struct.unpack_from('<Q', idx, 9)
    check(version == 1, f'{prefix}.idx: version {version}, expected 1')
    code = idx[17]
    check(code in MEGATRON_DTYPES, f'{prefix}.idx: unknown dtype code {code}')
    dtype = np.dtype('<' + MEGATRON_DTYPES[code])
    sequences, doc_entries = struct.unpack_from('<QQ', idx, 18)
    offset = 34
    lengths = np.frombuffer(idx, dtype='<i4', count=sequences, offset=offset)
    offset += 4 * sequences
    pointers = np.frombuffer(idx, dtype='<i8', count=sequences, offset=offset)
    offset += 8 * sequences
    doc_index = np.frombuffer(idx, dtype='<i8', count=doc_entries, offset=offset)
    offset += 8 * doc_entries
    check(offset == len(idx), f'{prefix}.idx: {len(idx) - offset} trailing bytes')
    check(doc_entries >= 1 and doc_index[0] == 0 and doc_index[-1] == sequences, f'{prefix}.idx: document index does not span the sequences')
    data = np.fromfile(prefix + '.bin', dtype=dtype)
    expected = 0
    for s in range(sequences):
        check(pointers[s] == expected, f'{prefix}.idx: sequence {s} pointer {pointers[s]}, expected {expected}')
        expected += int(lengths[s]) * dtype.itemsize
    check(expected == data.nbytes, f'{prefix}.bin: {data.nbytes} bytes, the index describes {expected}')
    documents = []
    for d in range(doc_entries - 1):
        parts = [data[pointers[s] // dtype.itemsize:pointers[s] // dtype.itemsize + lengths[s]] for s in range(doc_index[d], doc_index[d + 1])]
        documents.append(np.concatenate(parts) if parts else np.zeros(0, dtype))
    return documents, dtype.name


def read_tokens(bin_path, docs_path, dtype_name):
    dtype = np.dtype(NAMED_DTYPES[dtype_name])
    data = np.fromfile(bin_path, dtype=dtype)
    starts = np.fromfile(docs_path, dtype='<u8')
    check(len(starts) >= 1 and starts[0] == 0, f'{docs_path}: must start with 0')
    check(int(starts[-1]) == len(data), f'{docs_path}: ends at {starts[-1]}, {bin_path} holds {len(data)} tokens')
    check(bool(np.all(np.diff(starts.astype(np.int64)) > 0)), f'{docs_path}: offsets must increase')
    return [data[int(starts[k]):int(starts[k + 1])] for k in range(len(starts) - 1)], dtype.name


def main(argv):
    mixed = argv[1]
    with_ids = '--ids' in argv[2:]
    with open(os.path.join(mixed, 'meta.json')) as f:
        meta = json.load(f)
    eod = meta['eod_token']
    documents = []
    dtypes = set()
    for shard in meta['shards']:
        if meta['format'] == 'megatron':
            check(shard['bin'].endswith('.bin') and shard['index'] == shard['bin'][:-4] + '.idx', f'unexpected shard names {shard}')
            docs, dtype = read_megatron(os.path.join(mixed, shard['bin'][:-4]))
        else:
            docs, dtype = read_tokens(os.path.join(mixed, shard['bin']), os.path.join(mixed, shard['index']), meta['dtype'])
        check(len(docs) == shard['documents'], f"{shard['bin']}: {len(docs)} documents, meta.json says {shard['documents']}")
        documents.extend(docs)
        dtypes.add(dtype)
    for k, doc in enumerate(documents):
        check(len(doc) >= 1 and int(doc[-1]) == eod, f'document {k} does not end with the end-of-document token {eod}')
        check(int(np.count_nonzero(doc == eod)) == 1, f'document {k} holds the end-of-document token before its end')
    out = {
        'format': meta['format'],
        'dtype': sorted(dtypes),
        'eod_token': eod,
        'documents': len(documents),
        'lengths': [len(doc) - 1 for doc in documents],
    }
    if with_ids:
        out['ids'] = [[int(x) for x in doc[:-1]] for doc in documents]
    json.dump(out, sys.stdout)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv))
    except LayoutError as error:
        print(f'read_shards: {error}', file=sys.stderr)
        sys.exit(1)
