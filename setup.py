"""Install mmsimmm; copies (or, for editable installs, links) configs/ and tools/ into
mmsimmm/.mim so that ``mmsimmm::`` config paths resolve, as mmyolo / mmdet do."""
import os
import os.path as osp
import shutil
import sys
import warnings

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))


def get_version():
    scope = {}
    with open(osp.join(ROOT, 'mmsimmm', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname):
    """Pure-Python requirements of one requirements file (comments stripped)."""
    reqs = []
    with open(osp.join(ROOT, 'requirements', fname)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


def add_mim_extension():
    """Place configs/ and tools/ under mmsimmm/.mim (symlink when editable)."""
    if 'develop' in sys.argv or any('editable' in a for a in sys.argv):
        mode = 'symlink'
    elif any(a in sys.argv for a in ('sdist', 'bdist_wheel', 'install')):
        mode = 'copy'
    else:
        return
    mim_path = osp.join(ROOT, 'mmsimmm', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in ('configs', 'tools'):
        src, dst = osp.join(ROOT, name), osp.join(mim_path, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            try:
                os.symlink(osp.relpath(src, osp.dirname(dst)), dst)
                continue
            except OSError:
                warnings.warn(f'cannot link {src}; copying it instead')
        shutil.copytree(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmsimmm',
        version=get_version(),
        description='Similarity Min-Max zero-shot day-night domain adaptation '
        'for OpenMMLab 2.x',
        long_description=open(osp.join(ROOT, 'README.md')).read()
        if osp.exists(osp.join(ROOT, 'README.md')) else '',
        long_description_content_type='text/markdown',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'benchmarks')),
        include_package_data=True,
        package_data={'mmsimmm': ['.mim/configs/**/*.py', '.mim/tools/*']},
        python_requires='>=3.8',
        # mmcv must be the full build (CPU/CUDA ops); tools/setup_env.sh builds it.
        install_requires=[
            'mmengine>=0.10.0,<1.0.0', 'mmcv>=2.0.0,<2.2.0', 'numpy<2',
            'mmsegmentation>=1.2.0', 'ftfy', 'regex'
        ],
        extras_require={
            'pretrain': ['mmpretrain>=1.2.0'],
            'action': ['mmaction2>=1.2.0', 'decord'],
            'tests': parse_requirements('tests.txt'),
        },
        zip_safe=False)
