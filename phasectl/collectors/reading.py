"""What every artifact reader shares: files are untrusted input.

A reader returns a value or raises ``PhasectlError``, never anything else (``untrusted``),
and reads XML incrementally (``stream_elements``): it sees each element once, when it
ends, and the element is then dropped from the tree, so memory stays near the size of the
largest single element, not the whole file, and no depth of nesting exhausts the stack.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from phasectl.errors import PhasectlError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

_P = ParamSpec("_P")
_R = TypeVar("_R")


def untrusted(
    what: str,
) -> Callable[[Callable[Concatenate[Path, _P], _R]], Callable[Concatenate[Path, _P], _R]]:
    """Make a reader of ``what`` files (its first argument is the path) raise only
    ``PhasectlError``: whatever else a malformed file provokes becomes an error naming it.

    Readers check what they expect with their own messages; this catches what no check
    foresaw (a number too long to convert, a structure nested past the stack), so the CLI
    still says ``Error:`` and exits 2 instead of a traceback and exit 1.
    """

    def decorate(
        reader: Callable[Concatenate[Path, _P], _R],
    ) -> Callable[Concatenate[Path, _P], _R]:
        def read(path: Path, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return reader(path, *args, **kwargs)
            except PhasectlError:
                raise
            except (ValueError, LookupError, TypeError, ArithmeticError, RecursionError) as exc:
                raise PhasectlError(
                    f"cannot read {what} {path}: it is malformed ({type(exc).__name__}: "
                    f"{str(exc)[:200]}); regenerate it"
                ) from None

        functools.update_wrapper(read, reader)
        return read

    return decorate


def stream_elements(
    path: Path, roots: tuple[str, ...], drop: frozenset[str], what: str, regenerate: str
) -> Iterator[tuple[Element, list[Element]]]:
    """Each element of ``path`` as it ends, with its ancestors (outermost first).

    The caller reads an element while it is yielded (its children are still there);
    afterwards an element whose tag is in ``drop`` is cleared and removed from its parent.
    The root element must be one of ``roots``. Problems (missing or
    unreadable file, entities or a DTD, malformed XML, a wrong root) raise
    ``PhasectlError`` naming the file; ``regenerate`` says what to do about them.
    """
    import defusedxml
    from defusedxml import ElementTree

    ancestors: list[Element] = []
    try:
        if path.stat().st_size == 0:
            raise PhasectlError(f"{what} file {path} is empty; {regenerate}")
        for event, element in ElementTree.iterparse(str(path), events=("start", "end")):
            if event == "start":
                if not ancestors and element.tag not in roots:
                    raise PhasectlError(f"{path} is not {what} (root element <{element.tag}>)")
                ancestors.append(element)
                continue
            ancestors.pop()
            yield element, ancestors
            if element.tag in drop and ancestors:
                element.clear()
                ancestors[-1].remove(element)
    except FileNotFoundError:
        raise PhasectlError(f"{what} file {path} does not exist; run the tests first") from None
    except defusedxml.DefusedXmlException:
        raise PhasectlError(
            f"refused {path}: it declares XML entities or a DTD (possible entity-expansion "
            f"attack); {regenerate}"
        ) from None
    except ElementTree.ParseError as exc:
        raise PhasectlError(
            f"{what} file {path} is not well-formed XML ({exc}); was it truncated? {regenerate}"
        ) from None
    except OSError as exc:
        raise PhasectlError(f"cannot read {what} file {path}: {exc.strerror}") from None
