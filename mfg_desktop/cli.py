"""Command line: `mfg-desktop [FILE...]` opens the window; subcommands run headless over core.

Each subcommand lives in its own ``_cmd_*`` function registered in ``_build_parser``.
Expected problems (:class:`MfgError`) go to stderr as one clear line with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mfg_desktop import __version__
from mfg_desktop.core.errors import Cancelled, MfgError

SUBCOMMANDS = ("profile", "train")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mfg-desktop",
        description="Offline machine-learning workbench for factory data. "
        "Without a subcommand it opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"mfg-desktop {__version__}")
    sub = parser.add_subparsers(dest="command")

    profile = sub.add_parser("profile", help="data-quality profile of one or more files")
    profile.add_argument("files", nargs="+", metavar="FILE")
    profile.add_argument("--target", help="target column (or one-hot columns joined with '+')")
    profile.add_argument("--json", action="store_true", help="print machine-readable JSON")
    profile.add_argument("--encoding", help="override the detected encoding")
    profile.add_argument("--delimiter", help="override the detected delimiter")
    profile.add_argument("--sheet", help="Excel sheet name or index")
    profile.set_defaults(func=_cmd_profile)
    return parser


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mfg-desktop", description="Open the mfg_desktop window.")
    parser.add_argument("files", nargs="*", metavar="FILE", help="data files to open")
    parser.add_argument("--demo", action="store_true", help="open the bundled sample data")
    parser.add_argument("--version", action="version", version=f"mfg-desktop {__version__}")
    return parser


def _cmd_profile(args: argparse.Namespace) -> int:
    raise SystemExit("profile is being implemented")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        args = _build_parser().parse_args(argv)
        try:
            return int(args.func(args) or 0)
        except MfgError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except Cancelled:
            print("cancelled", file=sys.stderr)
            return 130
    if argv and argv[0] in ("-h", "--help") and len(argv) == 1:
        _gui_parser().print_help()
        print("\nheadless commands: " + ", ".join(SUBCOMMANDS) + " (mfg-desktop COMMAND --help)")
        return 0
    args = _gui_parser().parse_args(argv)
    from mfg_desktop.qt.app import run_app  # Qt only when the window is wanted

    return run_app(files=args.files, demo=args.demo)


if __name__ == "__main__":
    raise SystemExit(main())
