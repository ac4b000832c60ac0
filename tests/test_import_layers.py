# Copyright (c) peclr_mm authors. All rights reserved.
"""The package's imports run one way (docs/design.md section 11):
``utils`` <- ``datasets``; ``utils`` <- ``codecs`` <- ``models`` <-
``evaluation``; ``utils`` <- ``weights`` (the checkpoint wing) <-
``models``; the glue (``apis``, ``engine``, ``visualization``,
``patches``) on top. Above the package, ``projects/`` import the package
but never ``tools/``, and the package imports neither. Every module is
parsed, imports inside functions included."""
import ast
import os
import os.path as osp
from typing import Dict, Iterator, Set, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGE = osp.join(ROOT, 'peclr_mm')
PROJECTS = osp.join(ROOT, 'projects')

#: The sub-packages (and top-level modules) each may import from.
_BASE = {'utils', 'version'}
ALLOWED: Dict[str, Set[str]] = {
    'version': set(),
    'utils': {'version'},
    'datasets': _BASE,
    'codecs': _BASE,
    'weights': _BASE,
    'models': _BASE | {'codecs', 'weights'},
    'evaluation': _BASE | {'codecs', 'models', 'weights'},
}
#: On top: may import any layer above, but not one another's modules
#: except as listed.
TOP: Dict[str, Set[str]] = {
    'visualization': set(),
    'engine': {'visualization'},
    'patches': {'engine'},
    'apis': {'visualization', 'engine'},
}
#: Top-level folders of the checkout that a tree must not import: a
#: project is built on the package, and a script of ``tools/`` that a
#: project needs belongs to the project (or to the package).
NOT_IMPORTED: Dict[str, Set[str]] = {
    PACKAGE: {'projects', 'tools'},
    PROJECTS: {'tools'},
}


def _module_name(path: str, root: str) -> str:
    rel = osp.relpath(path, root)[:-len('.py')].split(os.sep)
    return '.'.join(rel[:-1] if rel[-1] == '__init__' else rel)


def _imports(path: str, root: str) -> Iterator[Tuple[int, str]]:
    """``(line, absolute module)`` of every import in a file."""
    module = _module_name(path, root)
    package = module if path.endswith('__init__.py') else module.rsplit(
        '.', 1)[0]
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split('.')
                base = parts[:len(parts) - node.level + 1]
                target = '.'.join(base +
                                  ([node.module] if node.module else []))
            else:
                target = node.module or ''
            names = [target] if node.module else [
                f'{target}.{a.name}' for a in node.names
            ]
            for name in names:
                yield node.lineno, name


def _layer(module: str) -> str:
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else ''


def violations(package_dir: str = PACKAGE) -> list:
    """``'file:line: layer imports target'`` for every import against the
    direction."""
    root = osp.dirname(package_dir)
    found = []
    for dirpath, _, files in os.walk(package_dir):
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            path = osp.join(dirpath, name)
            src = _layer(_module_name(path, root))
            if not src:  # the package's __init__ registers everything
                continue
            if src not in ALLOWED and src not in TOP:
                found.append(f'{path}: {src} is in no layer of this test')
                continue
            for line, target in _imports(path, root):
                if target.split('.')[0] != 'peclr_mm':
                    continue
                dst = _layer(target)
                if dst == src:
                    continue
                ok = dst in ALLOWED[src] if src in ALLOWED else (
                    dst in ALLOWED or dst in TOP[src])
                if not ok:
                    found.append(f'{osp.relpath(path, root)}:{line}: {src} '
                                 f'imports {target}')
    return found


def foreign_imports(tree: str, forbidden: Set[str], root: str = ROOT) -> list:
    """``'file:line: target'`` for every import of a ``forbidden``
    top-level package by a module under ``tree`` (a folder of the checkout
    ``root``)."""
    found = []
    for dirpath, _, files in os.walk(tree):
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            path = osp.join(dirpath, name)
            for line, target in _imports(path, root):
                if target.split('.')[0] in forbidden:
                    found.append(f'{osp.relpath(path, root)}:{line}: '
                                 f'{target}')
    return found


def test_every_sub_package_has_a_layer():
    names = {
        n[:-3] if n.endswith('.py') else n
        for n in os.listdir(PACKAGE) if not n.startswith(('_', '.')) and (
            n.endswith('.py') or osp.isdir(osp.join(PACKAGE, n)))
    }
    names.discard('__pycache__')
    assert names <= set(ALLOWED) | set(TOP), names - set(ALLOWED) - set(TOP)


def test_imports_run_one_way():
    assert violations() == []


def test_projects_and_package_do_not_import_upwards():
    for tree, forbidden in NOT_IMPORTED.items():
        assert foreign_imports(tree, forbidden) == []


def test_the_check_sees_a_backward_import(tmp_path):
    """A lower layer importing a higher one is caught, relative imports and
    imports inside functions alike."""
    pkg = tmp_path / 'peclr_mm'
    for sub in ('models', 'evaluation', 'utils'):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / '__init__.py').write_text('')
    (pkg / 'models' /
     'head.py').write_text('def f():\n    from ..evaluation import metric\n')
    (pkg / 'utils' / 'io.py').write_text('import peclr_mm.models.head\n')
    (pkg / 'evaluation' /
     'metric.py').write_text('from ..models.head import f\n')
    found = violations(str(pkg))
    assert sorted(found) == [
        f'{osp.join("peclr_mm", "models", "head.py")}:2: models imports '
        'peclr_mm.evaluation',
        f'{osp.join("peclr_mm", "utils", "io.py")}:1: utils imports '
        'peclr_mm.models.head',
    ]


def test_the_check_sees_a_project_importing_a_tool(tmp_path):
    """``import tools...`` and ``from tools... import`` in a project are
    caught, inside functions too; a project's own ``tools`` sub-folder is
    not ``tools/``."""
    study = tmp_path / 'projects' / 'study'
    study.mkdir(parents=True)
    (study / 'a.py').write_text('import tools.analysis.x\n'
                                'def f():\n'
                                '    from tools.analysis import y\n')
    (study / 'b.py').write_text('from .tools import z\n'
                                'from peclr_mm import models\n')
    found = foreign_imports(
        str(tmp_path / 'projects'), {'tools'}, root=str(tmp_path))
    a = osp.join('projects', 'study', 'a.py')
    assert sorted(found) == [
        f'{a}:1: tools.analysis.x', f'{a}:3: tools.analysis'
    ]
