"""Derived columns typed by the engineer, such as ``power = "Torque [Nm]" * "Rotational speed [rpm]"``.

A formula is parsed with :mod:`ast` and evaluated by walking the tree over a small whitelist of
arithmetic, comparisons, a few numpy functions and the constants ``pi`` and ``e``; nothing is ever
passed to ``eval``/``exec``, so a formula read back from a model file cannot run code.

Column names are written in double (or single) quotes, or bare when they are valid Python names
(``Torque``). Before parsing, every quoted name is swapped for a placeholder identifier; a map from
positions in the rewritten text back to the typed text lets errors point at what the user typed.
The constants ``pi`` and ``e`` always mean the constants; a column called ``e`` must be quoted.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from mfg_desktop.core.errors import DataError, MfgError
from mfg_desktop.core.i18n import N_, tr, trn

MAX_FORMULA_LENGTH = 2000
# Checked explicitly: relying on RecursionError would depend on the interpreter's recursion limit,
# which other libraries change.
MAX_NESTING = 100
_PLACEHOLDER = "_mfgcol{}_"
_PLACEHOLDER_RE = re.compile(r"_mfgcol\d+_")

CONSTANTS: dict[str, float] = {"pi": float(np.pi), "e": float(np.e)}

# name -> (numpy function, number of arguments)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "abs": (np.abs, 1),
    "sqrt": (np.sqrt, 1),
    "log": (np.log, 1),
    "log10": (np.log10, 1),
    "log1p": (np.log1p, 1),
    "exp": (np.exp, 1),
    "sin": (np.sin, 1),
    "cos": (np.cos, 1),
    "tan": (np.tan, 1),
    "min": (np.minimum, 2),
    "max": (np.maximum, 2),
    "clip": (np.clip, 3),
}

_BINARY_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.Pow: np.power,
    ast.Mod: np.mod,
}
_COMPARE_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_OP_SYMBOLS = {
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Not: "not",
    ast.Invert: "~",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}

_ALLOWED_HELP = N_(
    "Allowed: column names in double quotes, numbers, + - * / ** %, comparisons, parentheses, "
    "the constants pi and e, and the functions {functions}."
)


def _allowed_help() -> str:
    return tr(_ALLOWED_HELP, functions=", ".join(FUNCTIONS))


# What a construct is called in a message (anything not listed is named by its class).
_CONSTRUCT_NAMES = {
    ast.Attribute: N_("attribute access (a.b)"),
    ast.Subscript: N_("indexing (a[...])"),
    ast.Lambda: "lambda",
    ast.ListComp: N_("list comprehension"),
    ast.GeneratorExp: N_("generator expression"),
    ast.DictComp: N_("dict comprehension"),
    ast.SetComp: N_("set comprehension"),
    ast.List: N_("list"),
    ast.Tuple: N_("tuple"),
    ast.Dict: N_("dict"),
    ast.Set: N_("set"),
    ast.IfExp: N_("if/else expression"),
    ast.BoolOp: "and/or",
    ast.NamedExpr: N_("assignment (:=)"),
    ast.JoinedStr: "f-string",
    ast.Starred: N_("star argument"),
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


class FormulaError(MfgError):
    """A derived-column formula that cannot be used as typed."""


@dataclass(frozen=True)
class DerivedColumn:
    """A new column ``name`` computed by ``expression`` from ``columns`` (in order of first use)."""

    name: str
    expression: str
    columns: tuple[str, ...]

    @property
    def text(self) -> str:
        """The line as the user would type it: ``NAME = FORMULA``."""
        name = self.name if self.name.isidentifier() else _quote(self.name)
        return f"{name} = {self.expression}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "expression": self.expression, "columns": list(self.columns)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DerivedColumn:
        """Rebuild from :meth:`to_dict`, checking the formula again (it may come from a file)."""
        try:
            name, expression = str(d["name"]), str(d["expression"])
        except (KeyError, TypeError) as exc:
            raise FormulaError(tr("A stored derived column is incomplete ({error!r}).", error=exc)) from exc
        compiled = _compile(expression)
        return cls(name=name, expression=expression, columns=compiled.columns)


def _quote(name: str) -> str:
    return '"' + name + '"' if '"' not in name else "'" + name + "'"


@dataclass(frozen=True)
class _Compiled:
    tree: ast.Expression
    keys: dict[str, str]  # identifier in the tree (placeholder or bare name) -> column name
    columns: tuple[str, ...]  # every column the formula reads, in order of first use
    refs: tuple[tuple[str, int | None], ...]  # (column, its character position) for each use, for messages


def _rewrite_quoted(expression: str) -> tuple[str, dict[str, str], list[int]]:
    """Swap every quoted column name for a placeholder identifier, keeping a position map."""
    if _PLACEHOLDER_RE.search(expression):
        raise FormulaError(tr("The name pattern {pattern!r} is reserved.", pattern=_PLACEHOLDER.format("N")))
    out: list[str] = []
    positions: list[int] = []
    placeholders: dict[str, str] = {}
    by_name: dict[str, str] = {}
    i = 0
    while i < len(expression):
        ch = expression[i]
        if ch in "\"'":
            end = expression.find(ch, i + 1)
            if end < 0:
                raise FormulaError(
                    tr("The quote at position {position} is never closed.", position=i + 1),
                    hint=tr("Close the column name with {quote}.", quote=ch),
                )
            name = expression[i + 1 : end]
            if not name.strip():
                raise FormulaError(tr("Empty column name in quotes at position {position}.", position=i + 1))
            token = by_name.get(name)
            if token is None:
                token = _PLACEHOLDER.format(len(by_name))
                by_name[name] = token
                placeholders[token] = name
            # Spaces keep a placeholder from fusing with a neighbour: f"x" or "a""b" stay errors.
            out.append(f" {token} ")
            positions.extend([i] * (len(token) + 2))
            i = end + 1
            continue
        # A formula is one line; a pasted line break must not change the meaning.
        out.append(" " if ch in "\r\n\t" else ch)
        positions.append(i)
        i += 1
    positions.append(len(expression))
    return "".join(out), placeholders, positions


def _char_offset(text: str, byte_offset: int) -> int:
    """ast reports UTF-8 byte offsets; bare Chinese names need them as character offsets."""
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def _where(compiled_text: str, positions: Sequence[int], node: ast.AST) -> int | None:
    """The character (counted from 1 in the formula as typed) where ``node`` starts, if known."""
    offset = getattr(node, "col_offset", None)
    if offset is None:
        return None
    index = _char_offset(compiled_text, offset)
    return positions[min(index, len(positions) - 1)] + 1


def _located(problem: str, position: int | None) -> str:
    """A problem as a sentence, with where in the formula it is when that is known."""
    if position is None:
        # TRANSLATORS: ends a sentence that has no position in the formula
        return tr("{problem}.", problem=problem)
    return tr("{problem} at character {position} of the formula.", problem=problem, position=position)


def _construct_name(node: ast.AST) -> str:
    for kind, label in _CONSTRUCT_NAMES.items():
        if isinstance(node, kind):
            return tr(label)
    return type(node).__name__


def _check_tree(
    tree: ast.Expression, rewritten: str, positions: Sequence[int], placeholders: dict[str, str]
) -> list[tuple[str, ast.Name]]:
    """Refuse anything outside the whitelist; return the column references in order of use."""
    refs: list[tuple[str, ast.Name]] = []

    def fail(message: str, node: ast.AST, hint: str | None = _ALLOWED_HELP) -> None:
        hint = _allowed_help() if hint is _ALLOWED_HELP else hint
        raise FormulaError(_located(message, _where(rewritten, positions, node)), hint=hint)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Expression):
            visit(node.body)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY_OPS:
                fail(
                    tr("The operator {operator} is not allowed",
                       operator=_OP_SYMBOLS.get(type(node.op), type(node.op).__name__)),
                    node,
                )
            visit(node.left)
            visit(node.right)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                fail(
                    tr("The operator {operator} is not allowed",
                       operator=_OP_SYMBOLS.get(type(node.op), type(node.op).__name__)),
                    node,
                )
            visit(node.operand)
        elif isinstance(node, ast.Compare):
            for op in node.ops:
                if type(op) not in _COMPARE_OPS:
                    fail(
                        tr("The comparison {operator} is not allowed",
                           operator=_OP_SYMBOLS.get(type(op), type(op).__name__)), node
                    )
            visit(node.left)
            for comparator in node.comparators:
                visit(comparator)
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                fail(
                    tr("Only numbers may be written as values, not {value!r}", value=value),
                    node,
                    hint=tr("Write column names in double quotes."),
                )
        elif isinstance(node, ast.Name):
            if node.id in placeholders:
                refs.append((placeholders[node.id], node))
            elif node.id in CONSTANTS:
                pass
            elif node.id in FUNCTIONS:
                fail(tr("The function {function} needs arguments in parentheses", function=node.id), node,
                     hint=None)
            elif node.id.startswith("__"):
                fail(tr("The name {name} is not allowed", name=node.id), node)
            else:
                refs.append((node.id, node))
        elif isinstance(node, ast.Call):
            func = node.func
            if not isinstance(func, ast.Name):
                fail(tr("{construct} is not allowed", construct=_construct_name(func)), func)
            assert isinstance(func, ast.Name)
            if func.id not in FUNCTIONS:
                fail(tr("Calling {function} is not allowed", function=placeholders.get(func.id, func.id)), node)
            if node.keywords:
                fail(tr("{function}() takes no named arguments", function=func.id), node)
            _, arity = FUNCTIONS[func.id]
            if len(node.args) != arity:
                fail(
                    trn("{function}() takes {n} argument, {given} given", "{function}() takes {n} arguments, {given} given",
                        arity, function=func.id, given=len(node.args)),
                    node,
                    hint=None,
                )
            for arg in node.args:
                visit(arg)
        else:
            fail(tr("{construct} is not allowed", construct=_construct_name(node)), node)

    visit(tree)
    return refs


@lru_cache(maxsize=256)
def _compile(expression: str) -> _Compiled:
    """Parse and check a formula (without knowing the data); cached because it is pure."""
    if not expression.strip():
        raise FormulaError(tr("The formula is empty."), hint=tr('Write e.g. dT = "Process temp" - "Air temp".'))
    if len(expression) > MAX_FORMULA_LENGTH:
        raise FormulaError(tr("The formula is longer than {limit} characters.", limit=MAX_FORMULA_LENGTH))
    rewritten, placeholders, positions = _rewrite_quoted(expression)
    try:
        tree = ast.parse(rewritten.strip(), mode="eval")
    except SyntaxError as exc:
        # SyntaxError offsets count characters from 1; 0 means the text ended too early.
        lead = len(rewritten) - len(rewritten.lstrip())
        if exc.offset:
            index = positions[min(exc.offset - 1 + lead, len(positions) - 1)]
            # TRANSLATORS: {error} is Python's own description of the syntax error (English)
            message = tr("The formula is not valid near character {position} of the formula: {error}.",
                         position=index + 1, error=exc.msg)
        else:
            message = tr("The formula is not valid at its end: {error}.", error=exc.msg)
        raise FormulaError(
            message, hint=tr("Check brackets and operators; write column names in double quotes.")
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise FormulaError(
            tr("The formula cannot be read ({error}).", error=type(exc).__name__), hint=tr("Simplify the formula.")
        ) from None
    if _nesting(tree) > MAX_NESTING:
        raise FormulaError(tr("The formula is nested too deeply."), hint=tr("Simplify the formula."))
    # Offsets in the tree are relative to the stripped text; map them back through `lead`.
    lead = len(rewritten) - len(rewritten.lstrip())
    stripped_positions = positions[lead:]
    try:
        refs = _check_tree(tree, rewritten.strip(), stripped_positions, placeholders)
    except RecursionError:
        raise FormulaError(tr("The formula is nested too deeply."), hint=tr("Simplify the formula.")) from None
    columns = tuple(dict.fromkeys(name for name, _ in refs))
    keys = {node.id: name for name, node in refs}
    where = tuple((name, _where(rewritten.strip(), stripped_positions, node)) for name, node in refs)
    return _Compiled(tree, keys, columns, where)


def _nesting(tree: ast.AST) -> int:
    """Depth of the syntax tree, measured without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _split_assignment(text: str) -> tuple[str, str]:
    """Cut ``NAME = FORMULA`` at the first '=' outside quotes that is not part of a comparison."""
    quote: str | None = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch == "=":
            before = text[i - 1] if i > 0 else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            if before in "<>!=" or after == "=":
                continue
            return text[:i], text[i + 1 :]
    raise FormulaError(
        tr("A derived column is written as NAME = FORMULA; no '=' found."),
        hint=tr('Example: dT = "Process temperature [K]" - "Air temperature [K]"'),
    )


def _parse_name(raw: str) -> str:
    name = raw.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1].strip()
    if not name:
        raise FormulaError(
            tr("The new column needs a name before '='."),
            hint=tr('Example: power = "Torque [Nm]" * "Rotational speed [rpm]"'),
        )
    if any(q in name for q in "\"'"):
        raise FormulaError(tr("The name {name!r} may not contain quotes.", name=name))
    return name


def parse_derived(text: str, available_columns: Sequence[str]) -> DerivedColumn:
    """Parse ``NAME = FORMULA`` against the columns that exist; raise :class:`FormulaError` if unusable.

    Checks: syntax, only whitelisted constructs, every column exists (close names are suggested),
    and the new name does not clash with an existing column.
    """
    raw_name, expression = _split_assignment(text)
    name = _parse_name(raw_name)
    expression = expression.strip()
    available = [str(c) for c in available_columns]
    if name in set(available):
        raise FormulaError(
            tr("A column named {name!r} already exists.", name=name),
            column=name,
            hint=tr("Choose another name for the derived column."),
        )
    compiled = _compile(expression)
    known = set(available)
    for column, where in compiled.refs:
        if column in known:
            continue
        close = difflib.get_close_matches(column, available, n=3, cutoff=0.5)
        if not close:
            lowered = column.lower()
            close = [c for c in available if lowered in c.lower()][:3]
        hint = (
            tr("Did you mean {names}?", names=tr(" or ").join(_quote(c) for c in close))
            if close
            else tr("Write column names exactly as in the data, in double quotes.")
        )
        raise FormulaError(_located(tr("Unknown column {column!r}", column=column), where), column=column, hint=hint)
    if name in compiled.columns:
        raise FormulaError(tr("The formula for {name!r} uses its own result.", name=name), column=name)
    if not compiled.columns:
        raise FormulaError(
            tr("The formula for {name!r} uses no column: it would be the same number in every "
               "row and teach the model nothing.", name=name),
            column=name,
        )
    return DerivedColumn(name=name, expression=expression, columns=compiled.columns)


def _column_values(df: pd.DataFrame, column: str, derived: DerivedColumn) -> np.ndarray:
    if column not in df.columns:
        raise DataError(
            tr("The derived column {name!r} needs column {column!r}, which is not in the data.",
               name=derived.name, column=column),
            column=column,
            hint=tr("Load a file with the same columns as the training data."),
        )
    series = df[column]
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = pd.to_numeric(series, errors="coerce")
    if numbers.notna().sum() == 0 and series.notna().any():
        raise FormulaError(
            tr("The derived column {name!r} does arithmetic with {column!r}, which holds text.",
               name=derived.name, column=column),
            column=column,
            hint=tr("Use numeric columns in formulas; text columns are encoded by the recipe."),
        )
    # Cells that are not numbers become missing and are imputed later like any missing reading.
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _evaluate_node(node: ast.AST, values: dict[str, Any]) -> Any:
    if isinstance(node, ast.Expression):
        return _evaluate_node(node.body, values)
    if isinstance(node, ast.BinOp):
        return _BINARY_OPS[type(node.op)](
            _evaluate_node(node.left, values), _evaluate_node(node.right, values)
        )
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate_node(node.operand, values)
        return np.negative(operand) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Compare):
        left = _evaluate_node(node.left, values)
        result: Any = None
        missing: Any = np.isnan(left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate_node(comparator, values)
            part = _COMPARE_OPS[type(op)](left, right)
            result = part if result is None else np.logical_and(result, part)
            missing = np.logical_or(missing, np.isnan(right))
            left = right
        # A comparison with a missing reading is unknown, not false.
        return np.where(missing, np.nan, np.asarray(result, dtype=np.float64))
    if isinstance(node, ast.Constant):
        return np.float64(node.value)
    if isinstance(node, ast.Name):
        if node.id in values:
            return values[node.id]
        return np.float64(CONSTANTS[node.id])
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        func, _ = FUNCTIONS[node.func.id]
        return func(*(_evaluate_node(arg, values) for arg in node.args))
    # unreachable after _check_tree
    raise FormulaError(_located(tr("{construct} is not allowed", construct=_construct_name(node)), None))


def evaluate(derived: DerivedColumn, df: pd.DataFrame) -> pd.Series:
    """The derived column over ``df`` as float64; results that are not finite (x/0, log 0) are NaN."""
    compiled = _compile(derived.expression)
    arrays = {column: _column_values(df, column, derived) for column in compiled.columns}
    values = {key: arrays[column] for key, column in compiled.keys.items()}
    try:
        with np.errstate(all="ignore"):
            result = _evaluate_node(compiled.tree, values)
    except RecursionError:
        raise FormulaError(tr("The formula for {name!r} is nested too deeply.", name=derived.name)) from None
    result = np.broadcast_to(np.asarray(result, dtype=np.float64), (len(df),)).copy()
    result[~np.isfinite(result)] = np.nan
    return pd.Series(result, index=df.index, name=derived.name, dtype="float64")


def apply_derived(df: pd.DataFrame, derived_list: Sequence[DerivedColumn], *, given: bool = False) -> pd.DataFrame:
    """A new frame with the derived columns added in order (later formulas may use earlier ones).

    A column of the same name already in ``df`` (say, a file exported with the derived column) is
    replaced by the computed one, so the model always sees values made the way it was trained.
    ``given``: such a column is taken as it is instead (explanations change a derived column on its
    own, see ``core.explain``).
    """
    out = df.copy(deep=False)
    for derived in derived_list:
        if not (given and derived.name in out.columns):
            out[derived.name] = evaluate(derived, out)
    return out


def parse_derived_list(lines: Sequence[str], available_columns: Sequence[str]) -> list[DerivedColumn]:
    """Parse several formulas; each may use the columns made by the ones before it."""
    columns = [str(c) for c in available_columns]
    result: list[DerivedColumn] = []
    for line in lines:
        derived = parse_derived(line, columns)
        result.append(derived)
        columns.append(derived.name)
    return result
