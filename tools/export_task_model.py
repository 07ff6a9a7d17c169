"""Export the adapted task model of an SMM checkpoint as a plain OpenMMLab
checkpoint (e.g. for mmseg's own tools, inferencers and deployment).

    python tools/export_task_model.py SMM_CHECKPOINT OUT.pth

The result holds ``state_dict`` (the task model's keys, without the
``task_model.`` prefix) and ``meta``; it loads with ``strict=True`` into the
model of the task config the SMM config wrapped. Both files are read and
written for ``torch.load(weights_only=True)``.
"""
import argparse
import os
import os.path as osp

import torch

from mmsimmm.compat import safe_load_checkpoint
from mmsimmm.errors import CheckpointError

PREFIX = 'task_model.'


def export_task_model(checkpoint: dict) -> dict:
    state_dict = checkpoint.get('state_dict', checkpoint)
    task_state = {
        k[len(PREFIX):]: v
        for k, v in state_dict.items() if k.startswith(PREFIX)
    }
    if not task_state:
        raise ValueError(f"no '{PREFIX}*' weights: not an SMM checkpoint")
    meta = dict(checkpoint.get('meta', {}) or {})
    meta.pop('message_hub', None)
    meta['exported_from'] = 'mmsimmm.SimMinMax'
    return dict(meta=meta, state_dict=task_state)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='SMM checkpoint')
    parser.add_argument('out', help='plain task-model checkpoint to write')
    args = parser.parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    try:
        # weights_only=True: a crafted file cannot run code here
        checkpoint = safe_load_checkpoint(args.checkpoint, map_location='cpu')
    except CheckpointError as error:
        raise SystemExit(error.one_line())
    try:
        exported = export_task_model(checkpoint)
    except ValueError as error:
        raise SystemExit(f'{args.checkpoint}: {error}')
    # write next to the target, then rename: a failed run leaves OUT intact
    tmp = f'{args.out}.tmp'
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(exported, tmp)
    os.replace(tmp, args.out)
    print(f'{args.out}: {len(exported["state_dict"])} task-model tensors')


if __name__ == '__main__':
    main()
