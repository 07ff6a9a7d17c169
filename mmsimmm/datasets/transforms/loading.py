"""Image and label loading that refuses broken files with one line naming
the file, instead of training on them silently.

* a truncated PNG / JPEG (decoders return a partial image with a warning),
  an undecodable file: :class:`DataFileError`;
* a grayscale or 16-bit image: read as 8-bit, 3 channels (what the rest of
  the pipeline and the data preprocessor's mean/std assume);
* a label map with colour channels, values above 255 (mmseg casts them to
  uint8, wrapping), or a size other than its image's: :class:`DataFileError`.
"""
import os.path as osp
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations

from mmsimmm.errors import DataFileError
from mmsimmm.registry import TRANSFORMS

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
JPEG_SIGNATURE = b'\xff\xd8'
TAIL_BYTES = 4096


def incomplete_image_file(path: str) -> Optional[str]:
    """Why the local PNG / JPEG file ``path`` is cut short, or ``None``: a
    PNG ends with its IEND chunk, a JPEG with the EOI marker (searched in
    the last bytes: some writers append padding)."""
    if not osp.isfile(path):
        return None  # missing files are named by the decoder's error
    with open(path, 'rb') as f:
        head = f.read(8)
        f.seek(max(0, osp.getsize(path) - TAIL_BYTES))
        tail = f.read()
    if head.startswith(PNG_SIGNATURE) and b'IEND' not in tail:
        return 'truncated PNG (no IEND chunk)'
    if head.startswith(JPEG_SIGNATURE) and b'\xff\xd9' not in tail:
        return 'truncated JPEG (no end-of-image marker)'
    return None


def to_8bit_color(img: np.ndarray) -> np.ndarray:
    """An HxWx3 uint8 image of a grayscale and/or 16-bit one (16-bit values
    scaled by 255/65535, as image viewers show them)."""
    if img.dtype == np.uint16:
        img = np.round(img.astype(np.float32) * (255.0 / 65535.0)).astype(
            np.uint8)
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return img


@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that refuses truncated or undecodable
    files with :class:`DataFileError` naming the file, and hands on
    grayscale and 16-bit images as 8-bit, 3-channel ones (unless
    ``to_float32``, which keeps the decoded values)."""

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        problem = incomplete_image_file(filename)
        if problem:
            raise DataFileError(f'{filename}: {problem}; re-extract or '
                                'remove the file')
        try:
            results = super().transform(results)
        except Exception as error:  # mmcv asserts / cv2 errors
            message = str(error).strip().splitlines()[-1] if str(
                error).strip() else type(error).__name__
            raise DataFileError(f'{filename}: not a readable image '
                                f'({message})') from None
        if results is None:  # ignore_empty
            return None
        img = results['img']
        if img.dtype not in (np.uint8, np.uint16, np.float32):
            raise DataFileError(f'{filename}: unsupported image type '
                                f'{img.dtype} (expected 8 or 16 bit)')
        if not self.to_float32 and img.dtype != np.float32:
            img = to_8bit_color(img)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class CheckedLoadAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` for semantic segmentation that refuses,
    with :class:`DataFileError` naming the file, a truncated or
    undecodable label map, one with colour channels, values that do not fit
    in 8 bits, or a size other than its image's (put it after the image
    loader)."""

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        problem = incomplete_image_file(path)
        if problem:
            raise DataFileError(f'{path}: {problem}; re-extract or remove '
                                'the file')
        try:
            label = mmcv.imfrombytes(
                fileio.get(path, backend_args=self.backend_args),
                flag='unchanged', backend=self.imdecode_backend)
        except Exception as error:
            raise DataFileError(f'{path}: not a readable label map '
                                f'({error})') from None
        if label is None:
            raise DataFileError(f'{path}: not a readable label map')
        if label.ndim == 3 and label.shape[2] == 1:
            label = label[..., 0]
        if label.ndim != 2:
            raise DataFileError(
                f'{path}: label map has {label.shape[2]} channels; expected '
                'one channel of class ids (e.g. *_labelTrainIds.png, not '
                'the colour labels)')
        if label.dtype != np.uint8:
            if label.min() < 0 or label.max() > 255:
                raise DataFileError(
                    f'{path}: label values {label.min()}..{label.max()} do '
                    'not fit 8 bits (class ids 0..254, 255 = ignore)')
            label = label.astype(np.uint8)
        image_shape = results.get('ori_shape')
        if image_shape is not None and tuple(label.shape) != tuple(
                image_shape[:2]):
            raise DataFileError(
                f'{path}: label map is {label.shape[1]}x{label.shape[0]} '
                f"but its image {results.get('img_path')} is "
                f'{image_shape[1]}x{image_shape[0]}')
        results['gt_seg_map'] = self._relabel(label, results)
        results['seg_fields'].append('gt_seg_map')

    def _relabel(self, label: np.ndarray, results: dict) -> np.ndarray:
        """mmseg's ``reduce_zero_label`` and ``label_map`` handling."""
        if self.reduce_zero_label is None:
            self.reduce_zero_label = results['reduce_zero_label']
        if self.reduce_zero_label != results['reduce_zero_label']:
            raise ValueError(
                'CheckedLoadAnnotations: reduce_zero_label='
                f'{self.reduce_zero_label} but the dataset says '
                f"{results['reduce_zero_label']}")
        if self.reduce_zero_label:
            label[label == 0] = 255
            label = label - 1
            label[label == 254] = 255
        if results.get('label_map', None) is not None:
            original = label.copy()
            for old_id, new_id in results['label_map'].items():
                label[original == old_id] = new_id
        return label
