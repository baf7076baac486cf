#!/usr/bin/env python3
"""Read tokenmix's `megatron` shards with Megatron-LM's own reader (a cross-check of
docs/training-shards.md against the real thing, not run by the tests: it needs a Megatron-LM
checkout). torch and Megatron's object-storage helpers are replaced by stubs, since reading an
indexed dataset only needs numpy.

Usage: check_megatron.py MEGATRON_LM_CHECKOUT DIR/mixed
Prints sequences, documents, tokens (end-of-document tokens excluded) and whether every
sequence ends with the end-of-document token of mixed/meta.json.
"""
import glob
import importlib.util
import json
import os
import sys
import types


def install_stubs():
    torch = types.ModuleType('torch')
    torch.utils = types.ModuleType('torch.utils')
    torch.utils.data = types.ModuleType('torch.utils.data')
    torch.utils.data.Dataset = object
    torch.Tensor = object
    storage = types.ModuleType('megatron.core.datasets.object_storage_utils')
    for name in ['S3Config', 'ObjectStorageConfig', 'cache_index_file', 'dataset_exists', 'get_index_cache_path', 'get_object_storage_access', 'parse_s3_path']:
        setattr(storage, name, None)
    storage.is_object_storage_path = lambda path: False
    msc = types.ModuleType('megatron.core.msc_utils')
    msc.MultiStorageClientFeature = type('MultiStorageClientFeature', (), {'is_enabled': staticmethod(lambda: False)})
    msc.maybe_msc = types.SimpleNamespace(open=open)
    utils = types.ModuleType('megatron.core.utils')
    utils.log_single_rank = lambda *args, **kwargs: None
    sys.modules.update({
        'torch': torch, 'torch.utils': torch.utils, 'torch.utils.data': torch.utils.data,
        'megatron.core.datasets.object_storage_utils': storage, 'megatron.core.msc_utils': msc, 'megatron.core.utils': utils,
    })


def load_reader(checkout):
    """indexed_dataset.py alone: megatron/core/__init__.py would import all of Megatron (and torch)."""
    for name in ['megatron', 'megatron.core', 'megatron.core.datasets']:
        sys.modules.setdefault(name, types.ModuleType(name))
    path = os.path.join(checkout, 'megatron', 'core', 'datasets', 'indexed_dataset.py')
    spec = importlib.util.spec_from_file_location('megatron.core.datasets.indexed_dataset', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.IndexedDataset


def main(checkout, mixed):
    install_stubs()
    IndexedDataset = load_reader(checkout)

    with open(os.path.join(mixed, 'meta.json')) as f:
        eod = json.load(f)['eod_token']
    datasets = [IndexedDataset(path[:-len('.idx')]) for path in sorted(glob.glob(os.path.join(mixed, 'part-*.idx')))]
    sequences = [ds[i] for ds in datasets for i in range(len(ds))]
    print(json.dumps({
        'sequences': len(sequences),
        'documents': sum(len(ds.document_indices) - 1 for ds in datasets),
        'tokens': sum(len(s) - 1 for s in sequences),
        'dtype': sorted({str(ds.index.dtype.__name__) for ds in datasets}),
        'all_end_with_eod': all(int(s[-1]) == eod for s in sequences),
    }))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
