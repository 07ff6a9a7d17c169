"""Rewrite a TRUSTED mmengine checkpoint so that it loads with torch's
``weights_only=True``: the MessageHub (``HistoryBuffer`` objects) and numpy
values in ``meta`` become plain data, as mmsimmm's ``PlainMessageHubHook``
writes them.

    python tools/convert_checkpoint.py --trust IN.pth OUT.pth

Reading IN unpickles it fully, which runs any code it holds: only convert
files from a source you trust (hence ``--trust``). OUT is checked to load
with ``weights_only=True`` before it replaces any file.
"""
import argparse
import os
import os.path as osp

import torch

from mmsimmm.compat import safe_load_checkpoint, unsafe_globals
from mmsimmm.engine.hooks import make_checkpoint_plain
from mmsimmm.errors import CheckpointError


def convert(source: str, out: str) -> list:
    """Convert ``source`` to ``out``; returns the globals it no longer
    needs."""
    refused = unsafe_globals(source)
    checkpoint = torch.load(source, map_location='cpu', weights_only=False)
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'{source}: not an mmengine checkpoint (a '
                              f'{type(checkpoint).__name__}, not a dict)')
    make_checkpoint_plain(checkpoint)
    # write next to the target, then rename: a failed run leaves OUT intact
    tmp = f'{out}.tmp'
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(checkpoint, tmp)
    try:
        safe_load_checkpoint(tmp, map_location='cpu')
    except CheckpointError:
        os.remove(tmp)
        raise CheckpointError(
            f'{source}: still not loadable with weights_only=True after '
            f'conversion (it needs {", ".join(unsafe_globals(tmp))})')
    os.replace(tmp, out)
    return refused


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='trusted checkpoint to convert')
    parser.add_argument('out', help='checkpoint to write')
    parser.add_argument(
        '--trust',
        action='store_true',
        help='confirm that CHECKPOINT comes from a trusted source (reading '
        'it runs the code it may hold)')
    args = parser.parse_args()
    if not args.trust:
        raise SystemExit('convert_checkpoint.py unpickles CHECKPOINT fully; '
                         'pass --trust if it comes from a trusted source')
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'{args.checkpoint}: checkpoint not found')
    try:
        refused = convert(args.checkpoint, args.out)
    except CheckpointError as error:
        raise SystemExit(error.one_line())
    dropped = ', '.join(refused) if refused else 'nothing unsafe'
    print(f'{args.out}: loads with weights_only=True (was: {dropped})')


if __name__ == '__main__':
    main()
