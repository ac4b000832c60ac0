# Copyright (c) peclr_mm authors. All rights reserved.
"""peclr_mm: PeCLR for OpenMMLab.

Like mmpose, the package carries its ``configs`` and ``tools`` in
``peclr_mm/.mim`` so that ``mim train/test peclr_mm ...`` finds them: as
symbolic links for a development install, as copies in a wheel.
"""
import os
import os.path as osp
import shutil
import sys
from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))


def readme() -> str:
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        return f.read()


def version() -> str:
    scope: dict = {}
    with open(osp.join(ROOT, 'peclr_mm', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def requirements(name: str) -> list:
    with open(osp.join(ROOT, 'requirements', name)) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def add_mim_extension() -> None:
    """Link (develop) or copy (wheel, sdist) configs, tools and
    model-index.yml into
    ``peclr_mm/.mim``."""
    if any(cmd in sys.argv for cmd in ('develop', 'editable_wheel')):
        mode = 'symlink'
    elif any(
            cmd in sys.argv
            for cmd in ('sdist', 'bdist_wheel', 'install', 'build')):
        mode = 'copy'
    else:
        return
    mim_root = osp.join(ROOT, 'peclr_mm', '.mim')
    os.makedirs(mim_root, exist_ok=True)
    for name in ('configs', 'tools', 'model-index.yml'):
        src = osp.join(ROOT, name)
        dst = osp.join(mim_root, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_root), dst)
        elif osp.isfile(src):
            shutil.copyfile(src, dst)
        else:
            shutil.copytree(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='peclr_mm',
        version=version(),
        description='PeCLR (equivariant contrastive pretraining for 3-D hand '
        'pose) for OpenMMLab',
        long_description=readme(),
        long_description_content_type='text/markdown',
        license='MIT',
        packages=find_packages(exclude=('configs', 'tools', 'tests')),
        include_package_data=True,
        package_data={
            'peclr_mm':
            ['.mim/configs/**/*', '.mim/tools/**/*', '.mim/model-index.yml']
        },
        python_requires='>=3.9',
        install_requires=requirements('torch.txt'),
        extras_require=dict(
            runtime=requirements('runtime.txt'),
            openmmlab=requirements('openmmlab.txt'),
            tests=requirements('tests.txt')),
        zip_safe=False)
