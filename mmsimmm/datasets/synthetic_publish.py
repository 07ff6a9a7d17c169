# Copyright (c) OpenMMLab. All rights reserved.
"""Writing a generated dataset exactly once (synthetic streets and objects).

A JSON marker in the dataset root records the generation parameters; a root
with the same marker is reused. The files are built in a temporary sibling
directory, the marker goes in last and the tree is renamed into place, so an
interrupted run leaves no partial dataset and concurrent ranks agree.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable, Optional


def check_non_negative_ints(**values) -> None:
    """Raise a one-line ValueError naming the first value that is not a
    non-negative whole number."""
    for name, value in values.items():
        if int(value) != value or value < 0:
            raise ValueError(f'{name} must be a non-negative int, got '
                             f'{value!r}')


def read_marker(root, marker_name) -> Optional[dict]:
    """The parameters recorded in ``root``, or None without a marker."""
    path = osp.join(root, marker_name)
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f'unreadable marker {path}: {err}') from err


def _publish(tree, root, params, marker_name, overwrite):
    """Move the finished ``tree`` to ``root`` in one rename."""
    try:
        os.rename(tree, root)  # succeeds while root is missing or empty
        return
    except OSError:
        # Another process (e.g. another rank) may have published the same
        # dataset meanwhile; that is as good as ours.
        if read_marker(root, marker_name) == params:
            return
        if not overwrite:
            raise
    # Park the old tree first so root is never missing or half-deleted.
    trash = tempfile.mkdtemp(
        prefix=f'.{osp.basename(root)}.old.', dir=osp.dirname(root))
    os.rename(root, osp.join(trash, 'tree'))
    os.rename(tree, root)
    shutil.rmtree(trash, ignore_errors=True)


def generate_once(root: str, params: dict, marker_name: str,
                  write_tree: Callable[[str], None], overwrite: bool,
                  dataset_name: str, made_by: str) -> bool:
    """Write a dataset to ``root`` unless it already holds one made with
    ``params``.

    Args:
        root: Absolute dataset root.
        params: JSON-serialisable generation parameters (the marker).
        marker_name: File name of the marker inside the root.
        write_tree: Writes every file of the dataset below the directory it
            is given.
        overwrite: Replace a dataset made with other parameters.
        dataset_name / made_by: What the root holds and the function that
            makes it, for the error messages.

    Returns:
        bool: Whether the dataset was written (False: reused).
    """
    existing = read_marker(root, marker_name)
    if existing == params:
        return False
    if existing is not None and not overwrite:
        key = next(k for k in sorted({**existing, **params})
                   if existing.get(k) != params.get(k))
        raise ValueError(f'{root} holds {dataset_name} made with {key}='
                         f'{existing.get(key)!r}, not {params.get(key)!r}; '
                         'pass overwrite=True or choose another root')
    if existing is None and osp.isdir(root) and os.listdir(root):
        raise FileExistsError(f'{root} is not empty and was not made by '
                              f'{made_by}; not touching it')
    parent = osp.dirname(root)
    os.makedirs(parent, exist_ok=True)
    tree = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.', dir=parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tree, 0o777 & ~umask)  # mkdtemp makes it private
        write_tree(tree)
        # The marker goes in last: a tree with a marker is complete.
        with open(osp.join(tree, marker_name), 'w') as f:
            json.dump(params, f, indent=2)
        _publish(tree, root, params, marker_name, overwrite)
    finally:
        if osp.isdir(tree):
            shutil.rmtree(tree, ignore_errors=True)
    return True
