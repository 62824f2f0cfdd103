#!/usr/bin/env python3
"""Every reference in the repository's docs and code comments points inside the repository.

Scans markdown (links and path-like tokens) and the comments of source, build and script files
for paths such as docs/x.md, scripts/x, service/x.h, and fails on one that does not exist, and
on any mention of the design document that lived outside the repository. Usage:
doc_references.py [ROOT]
"""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), '..', '..'))
TOP = ('docs', 'scripts', 'state', 'store', 'service', 'cli', 'bench', 'tests', 'deploy',
       'proto', '.ci')
# A path-like token: one of the top-level folders, then at least one segment.
PATH = re.compile(r'(?<![\w./-])((?:\.\./)*(?:%s)/[\w./*{},-]*[\w*}-])' % '|'.join(re.escape(t) for t in TOP))
LINK = re.compile(r'\]\(([^)#\s]+)(?:#[^)]*)?\)')
OUTSIDE = re.compile(r'DESIGN(\.md)?\b|\.\./shared/')
COMMENT = {
    '.h': r'//.*', '.cc': r'//.*', '.proto': r'//.*', '.js': r'//.*',
    '.txt': r'#.*', '.cmake': r'#.*', '.sh': r'#.*', '.py': r'#.*', '.yaml': r'#.*',
    '.yml': r'#.*', '': r'#.*',
}
# Generated at build time or made by a command the comment shows, never in the tree.
GENERATED = re.compile(r'\.pb\.(h|cc)$|\.grpc\.pb\.(h|cc)$|^build|/gen/|^results|\*')


def tracked_files():
  out = subprocess.run(['git', '-C', ROOT, 'ls-files'], capture_output=True, text=True)
  if out.returncode == 0 and out.stdout.strip():
    return out.stdout.split()
  found = []
  for d, dirs, files in os.walk(ROOT):
    dirs[:] = [x for x in dirs if x not in ('.git', 'node_modules', 'build')]
    found += [os.path.relpath(os.path.join(d, f), ROOT) for f in files]
  return found


def exists(source, ref):
  ref = ref.rstrip('.,:;)')
  if GENERATED.search(ref) or '://' in ref:
    return True
  here = os.path.dirname(os.path.join(ROOT, source))
  for base in (here, ROOT):
    if os.path.exists(os.path.normpath(os.path.join(base, ref))):
      return True
  # "service/x.{h,cc}" style: every alternative must exist.
  brace = re.match(r'(.*)\{([^}]*)\}(.*)', ref)
  if brace:
    return all(exists(source, brace.group(1) + alt + brace.group(3))
               for alt in brace.group(2).split(','))
  return False


def main():
  problems = []
  for path in tracked_files():
    if path.startswith(('node_modules/', 'tests/lint/doc_references')) or path.endswith('.json'):
      continue
    full = os.path.join(ROOT, path)
    ext = os.path.splitext(path)[1]
    is_markdown = ext == '.md'
    if not is_markdown and ext not in COMMENT:
      continue
    try:
      text = open(full, encoding='utf-8').read()
    except (UnicodeDecodeError, OSError):
      continue
    if not is_markdown and ext == '' and not text.startswith('#!'):
      continue
    for number, line in enumerate(text.splitlines(), 1):
      if is_markdown:
        scanned = line
      else:
        m = re.search(COMMENT[ext], line)
        if not m:
          continue
        scanned = m.group(0)
      if OUTSIDE.search(scanned):
        problems.append(f'{path}:{number}: refers to a document outside the repository: '
                        f'{scanned.strip()}')
      refs = PATH.findall(scanned)
      if is_markdown:
        refs += [r for r in LINK.findall(scanned) if '://' not in r and not r.startswith('mailto:')]
      for ref in refs:
        if not exists(path, ref):
          problems.append(f'{path}:{number}: {ref} does not exist')
  for p in problems:
    print(p)
  print(f'doc_references: {len(problems)} broken references')
  return 1 if problems else 0


if __name__ == '__main__':
  sys.exit(main())
