"""Read a PyTorch checkpoint (a state dict) into numpy arrays without importing torch.

Both of torch.save's formats are handled:
  * the zip format (torch >= 1.6): archive/data.pkl plus one file per storage under archive/data/;
  * the legacy format: a stream of pickles (magic, protocol, sys info, the object with persistent
    ids for storages, the storage keys), followed by each storage as int64 numel + raw bytes.

Only what state dicts contain is understood: tensors (torch._utils._rebuild_tensor_v2),
storages of the common dtypes, OrderedDict. Anything else is an error naming the global.
"""

import collections
import io
import pickle
import struct
import sys
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name):
        if name not in STORAGE_DTYPES:
            raise ValueError(f"unsupported torch storage type {name}")
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class _LazyTensor:
    """A tensor whose storage bytes are filled in after the main pickle (legacy format)."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def materialise(self, storages):
        flat = storages[self.storage]
        itemsize = flat.dtype.itemsize
        if not self.size:
            return flat[self.offset].copy()
        return np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * itemsize for s in self.stride]
        ).copy()


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, hooks=None, *rest):
    return _LazyTensor(storage, storage_offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storage_meta):
        super().__init__(f)
        self.storage_meta = storage_meta  # key -> (dtype, numel)

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        raise pickle.UnpicklingError(f"unexpected global in checkpoint: {module}.{name}")

    def persistent_load(self, pid):
        if pid[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid[0]!r}")
        storage_type, key, _location, numel = pid[1], str(pid[2]), pid[3], pid[4]
        self.storage_meta[key] = (storage_type.dtype, numel)
        return key


def load_state_dict(path):
    """Return an OrderedDict name -> numpy array from a torch.save'd state dict."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] == b"PK":
        return _load_zip(path)
    return _load_legacy(path)


def _load_legacy(path):
    meta = {}
    with open(path, "rb") as f:
        magic = pickle.load(f)
        if magic != LEGACY_MAGIC:
            raise ValueError(f"{path}: not a torch checkpoint (bad magic number)")
        protocol = pickle.load(f)
        if protocol != 1001:
            raise ValueError(f"{path}: unsupported legacy protocol {protocol}")
        pickle.load(f)  # sys info
        obj = _Unpickler(f, meta).load()
        keys = pickle.load(f)
        storages = {}
        for key in keys:
            dtype, _ = meta[key]
            (numel,) = struct.unpack("<q", f.read(8))
            raw = f.read(numel * dtype.itemsize)
            if len(raw) != numel * dtype.itemsize:
                raise ValueError(f"{path}: storage {key} truncated")
            storages[key] = np.frombuffer(raw, dtype=dtype)
    return _materialise(obj, storages)


def _load_zip(path):
    meta = {}
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = next(n for n in names if n.endswith("/data.pkl"))
        prefix = pkl[: -len("data.pkl")]
        obj = _Unpickler(io.BytesIO(z.read(pkl)), meta).load()
        storages = {
            key: np.frombuffer(z.read(f"{prefix}data/{key}"), dtype=dtype)
            for key, (dtype, _numel) in meta.items()
        }
    return _materialise(obj, storages)


def _materialise(obj, storages):
    if not isinstance(obj, dict):
        raise ValueError("checkpoint is not a state dict")
    out = collections.OrderedDict()
    for name, value in obj.items():
        if not isinstance(value, _LazyTensor):
            raise ValueError(f"state dict entry {name} is not a tensor")
        out[name] = value.materialise(storages)
    return out


if __name__ == "__main__":
    for name, array in load_state_dict(sys.argv[1]).items():
        print(name, array.dtype, array.shape)
