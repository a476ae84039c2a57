"""Jinja2's sandbox with memory bounds, for templates a repository brings."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence, Sized
from typing import Any

import jinja2.runtime
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# The most characters a template may produce, and the largest string or list its own
# expressions may build: far above any report, far below what would exhaust memory.
MAX_TEMPLATE_OUTPUT = 32 << 20
_MAX_POWER_BITS = 1 << 20


def _size(value: object) -> int:
    if not isinstance(value, Sized) or isinstance(value, jinja2.Undefined):
        return 0
    try:
        return len(value)
    except Exception:  # a template's own object whose len() fails is simply not sized
        return 0


def _too_big(what: str) -> SecurityError:
    return SecurityError(f"{what} would exceed {MAX_TEMPLATE_OUTPUT:,} characters")


def _check_arguments(what: str, values: Sequence[object]) -> None:
    """Refuse a call whose result could outgrow the bound: an integer argument over it, or a
    result estimated as (largest sized argument) x (largest factor any other gives)."""
    ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    if any(abs(v) > MAX_TEMPLATE_OUTPUT for v in ints):
        raise _too_big(what)
    sizes = [*sorted((_size(v) for v in values), reverse=True), 0, 0]
    factor = max([1, sizes[1], *(abs(v) for v in ints)])
    if sizes[0] * factor > MAX_TEMPLATE_OUTPUT:
        raise _too_big(what)


def _check_widths(what: str, pattern: str) -> None:
    """Refuse a format string that asks for a field wider than the bound (``%99999999999s``)."""
    if any(int(n) > MAX_TEMPLATE_OUTPUT for n in re.findall(r"\d{8,}", pattern)):
        raise _too_big(what)


def _bounded_concat(values: Sequence[object]) -> str:
    parts = [str(v) for v in values]
    if sum(map(len, parts)) > MAX_TEMPLATE_OUTPUT:
        raise _too_big("the '~'")
    return "".join(parts)


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` to a join that checks its size (the sandbox cannot intercept it)."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, with memory bounds: it limits ``range()`` by itself, but
    not ``'a' * 10**10``, ``'a'|center(10**10)`` or ``2 ** 10**10``. The operators that
    can grow a value are intercepted (which also stops them being folded at compile time),
    as are calls and filters; rendering stops at ``MAX_TEMPLATE_OUTPUT`` characters."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BoundedCodeGenerator
    bounded_concat = staticmethod(_bounded_concat)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and right * max(abs(left).bit_length() - 1, 0) > _MAX_POWER_BITS
            ):
                raise SecurityError(f"a power of over {_MAX_POWER_BITS:,} bits is refused")
        elif operator == "+":
            if _size(left) + _size(right) > MAX_TEMPLATE_OUTPUT:
                raise _too_big("the '+'")
        else:
            _check_arguments(f"the '{operator}'", [left, right])
            if operator == "%" and isinstance(left, str):
                _check_widths("the '%'", left)
        return super().call_binop(context, operator, left, right)

    def call(
        __self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any
    ) -> Any:
        owner = getattr(__obj, "__self__", None)
        _check_arguments("the call", [owner, *args, *kwargs.values()])
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # The sandbox wraps str.format when it is looked up: check its widths there.
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            _check_widths("str.format", owner)
        return super().wrap_str_format(value)


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_arguments(f"the filter '{name}'", [*args, *kwargs.values()])
        if name == "format":
            for value in args:
                if isinstance(value, str):
                    _check_widths("the filter 'format'", value)
        return function(*args, **kwargs)

    # Keeps jinja_pass_arg, so pass_context / pass_environment filters still get theirs.
    functools.update_wrapper(bounded, function)
    return bounded
