"""Write docs/api.md, the API reference, from the docstrings of every public name of ``psm``.

Public names: ``psm.__all__`` and the public functions of the ``psm.plots`` and ``psm.datasets``
modules, and of each public class its public methods and properties. Run ``make docs`` (or
``python docs/build_api.py``); tests/test_api_docs.py fails when docs/api.md misses a public name (or lists
one that is gone) or a public name has no docstring.

The same list, in the same sections, makes the API page of the Sphinx site (``render_sphinx``, called by
docs/sphinx/conf.py), so no list of public names is kept by hand twice.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import psm

OUT = Path(__file__).resolve().parent / "api.md"

#: section title -> modules whose public names it lists, in pipeline order
SECTIONS = {
    "Propensity score": ("psm.propensity",),
    "Common support and matching": ("psm.support", "psm.matching", "psm.kernel", "psm.mahalanobis"),
    "Balance": ("psm.balance",),
    "Effects": ("psm.effects", "psm.psmatch2", "psm.teffects", "psm.bootstrap"),
    "Sensitivity": ("psm.sensitivity",),
    "Survival and frequency outcomes": ("psm.survival",),
    "Results": ("psm.summary",),
    "Errors": ("psm.errors",),
    "Plots (psm.plots)": ("psm.plots",),
    "Example data (psm.datasets)": ("psm.datasets",),
}


def public_names() -> dict[str, object]:
    """``{"psm.name": object}`` for every documented public name (modules' functions qualified)."""
    names = {f"psm.{n}": getattr(psm, n) for n in psm.__all__ if not inspect.ismodule(getattr(psm, n))}
    for module in (psm.plots, psm.datasets):
        for n, obj in vars(module).items():
            if inspect.isfunction(obj) and not n.startswith("_") and obj.__module__ == module.__name__:
                names[f"{module.__name__}.{n}"] = obj
    return names


def members(cls: type) -> dict[str, object]:
    """Public methods and properties a class defines or inherits from psm (fields are in its docstring)."""
    out = {}
    for base in reversed(cls.__mro__):
        if not base.__module__.startswith("psm"):
            continue
        for n, obj in vars(base).items():
            if not n.startswith("_") and (inspect.isfunction(obj) or isinstance(obj, property) or hasattr(obj, "func")):
                out[n] = obj
    return out


class _Annotation(str):
    """A string annotation that prints without quotes in a signature."""

    def __repr__(self) -> str:
        return str(self)


def _signature(name: str, obj: object) -> str:
    """``name(parameters) -> return`` with string annotations unquoted and ``self`` left out."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return name
    params = [p.replace(annotation=_Annotation(p.annotation)) if isinstance(p.annotation, str) else p
              for p in sig.parameters.values() if p.name != "self" and not p.name.startswith("_")]
    ret = sig.return_annotation
    if inspect.isclass(obj):  # a result class: its fields, no "-> None"
        ret = inspect.Signature.empty
    sig = sig.replace(parameters=params,
                      return_annotation=_Annotation(ret) if isinstance(ret, str) else ret)
    return f"{name}{sig}"


def _doc(obj: object) -> str:
    return inspect.cleandoc(inspect.getdoc(obj) or "")


def grouped() -> list[tuple[str, list[str]]]:
    """``[(section title, [qualified public names])]`` in SECTIONS order; names of a module not yet in
    SECTIONS come last under "More", so none is lost."""
    names = public_names()
    out = [(title, [q for q, obj in names.items() if getattr(obj, "__module__", None) in modules])
           for title, modules in SECTIONS.items()]
    listed = {q for _, qs in out for q in qs}
    others = [q for q in names if q not in listed]
    return out + ([("More", others)] if others else [])


def render_sphinx() -> str:
    """The Sphinx API page (MyST markdown): autodoc directives for every public name, by section."""
    names = public_names()
    lines = ["# API reference", "",
             "Every public name of `psm`, generated from the docstrings. Guides: [psm for Stata psmatch2 users]"
             "(stata.md), [psm for MatchIt and cobalt users](matchit.md).", ""]
    for title, qualified_names in grouped():
        lines += [f"## {title}", "", "```{eval-rst}"]
        for qualified in qualified_names:
            obj = names[qualified]
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                lines += [f".. autoexception:: {qualified}", ""]
            elif inspect.isclass(obj):
                lines += [f".. autoclass:: {qualified}", f"   :members: {', '.join(members(obj))}", ""]
            else:
                lines += [f".. autofunction:: {qualified}", ""]
        lines += ["```", ""]
    return "\n".join(lines).rstrip() + "\n"


def render() -> str:
    names = public_names()
    listed = set()
    lines = ["# API reference", "",
             "Generated from the docstrings by `make docs` (`docs/build_api.py`); do not edit by hand. Each",
             "formula's source is in the docstring that states it. Guides: [psm for Stata psmatch2 users](stata.md),",
             "[psm for MatchIt and cobalt users](matchit.md).", ""]
    for title, modules in SECTIONS.items():
        lines += [f"## {title}", ""]
        for qualified, obj in names.items():
            if getattr(obj, "__module__", None) not in modules:
                continue
            listed.add(qualified)
            is_class = inspect.isclass(obj)
            head = f"class {_signature(qualified, obj)}" if is_class else _signature(qualified, obj)
            if is_class and issubclass(obj, BaseException):
                head = f"class {qualified}({obj.__bases__[0].__name__})"
            lines += [f"### `{qualified}`", "", "```python", head, "```", "", _doc(obj), ""]
            if is_class and not issubclass(obj, BaseException):
                for n, member in members(obj).items():
                    target = member.fget if isinstance(member, property) else getattr(member, "func", member)
                    title = n if target is not member else _signature(n, member)
                    lines += [f"#### `{qualified}.{title}`", "", _doc(target) or "(see the class)", ""]
    others = [q for q in names if q not in listed]  # a module not yet in SECTIONS: listed, never lost
    if others:
        lines += ["## More", ""]
        for qualified in others:
            lines += [f"### `{qualified}`", "", "```python", _signature(qualified, names[qualified]), "```", "",
                      _doc(names[qualified]), ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT} ({len(public_names())} public names)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
