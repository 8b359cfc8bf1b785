"""Sphinx extension for the book's Library reference: crlib docstrings as plain-text maths.

crlib's docstrings write absolute values and norms as ``|x|`` in plain text, which
reStructuredText would read as substitution references (an error with ``-W``).  This
hook escapes every ``|`` outside inline literals, roles and literal or math blocks
before the docstring is parsed; the source stays readable in ``help()``.
"""

import re

_INLINE = re.compile(r"(``.*?``|:[\w:]+:`[^`]*`|`[^`]*`_?)")


def _escape(line):
    parts = _INLINE.split(line)
    for i in range(0, len(parts), 2):          # the even parts are outside literals and roles
        parts[i] = re.sub(r"(?<!\\)\|", r"\\|", parts[i])
    return "".join(parts)


def escape_pipes(app, what, name, obj, options, lines):
    block = None                                # indentation of the line that opened a block
    for i, line in enumerate(lines):
        text = line.lstrip()
        indent = len(line) - len(text)
        if block is not None:
            if text and indent <= block:
                block = None
            else:
                continue
        if text.startswith(".."):
            if "::" in text:
                block = indent
            continue
        if line.rstrip().endswith("::"):
            block = indent
        lines[i] = _escape(line)


def setup(app):
    app.connect("autodoc-process-docstring", escape_pipes, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
