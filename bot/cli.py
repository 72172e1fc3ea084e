"""The one command-line entry point: `sigurno <command>`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.settings import Settings, SettingsError, load_settings
from nlu.backends.base import BackendError
from nlu.pipeline import Nlu

EXIT_USAGE = 2
EXIT_FAILED = 1


class CliError(Exception):
    """An error to show the user on one line, with a non-zero exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _print_json(obj: Any, out: TextIO) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _nlu(settings: Settings) -> Nlu:
    from bot.services import build_nlu

    try:
        return build_nlu(settings.nlu)
    except BackendError as e:
        raise CliError(str(e)) from e


# ---- parse ---------------------------------------------------------------------------------------


async def _parse_lines(nlu: Nlu, lines: Sequence[str], out: TextIO) -> int:
    bad = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            _print_json({"line": n, "error": "invalid JSON"}, out)
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            bad += 1
            _print_json({"line": n, "error": "expected an object with a string 'text'"}, out)
            continue
        try:
            result = await nlu.parse(obj["text"])
        except BackendError as e:
            bad += 1
            _print_json({"line": n, "error": str(e)}, out)
            continue
        _print_json(result.to_json(), out)
    return bad


def cmd_parse(args: argparse.Namespace, settings: Settings) -> int:
    if args.jsonl == (args.text is not None):
        raise CliError("give TEXT or --jsonl (JSON lines with a 'text' key on stdin), not both", EXIT_USAGE)
    nlu = _nlu(settings)

    async def run() -> int:
        try:
            if args.jsonl:
                raw = sys.stdin.buffer.read().decode("utf-8", errors="replace")
                bad = await _parse_lines(nlu, raw.splitlines(), sys.stdout)
                if bad:
                    print(f"sigurno parse: {bad} line(s) could not be read; see their 'error'", file=sys.stderr)
                return 0
            try:
                result = await nlu.parse(args.text)
            except BackendError as e:
                raise CliError(str(e)) from e
            _print_json(result.to_json(), sys.stdout)
            return 0
        finally:
            await nlu.close()

    return asyncio.run(run())


# ---- nlu train / eval ----------------------------------------------------------------------------


def cmd_nlu_train(args: argparse.Namespace, settings: Settings) -> int:
    from nlu.backends.builtin import data_hash, load, train_from

    s = settings.nlu
    out = Path(args.out) if args.out else s.model_path
    if args.if_stale and out.exists():
        try:
            if load(out).data_hash == data_hash(s.data_dir):
                print(f"nlu model {out} is up to date")
                return 0
        except BackendError:
            pass
    if not s.data_dir.is_dir():
        raise CliError(f"no training data folder {s.data_dir}")
    try:
        _, n, secs = train_from(s.data_dir, out)
    except (BackendError, ValueError) as e:
        raise CliError(f"training failed: {e}") from e
    print(f"trained on {n} examples from {s.data_dir} in {secs:.1f} s -> {out}")
    return 0


def cmd_nlu_eval(args: argparse.Namespace, settings: Settings) -> int:
    from nlu.evaluate import BadRow, evaluate, plot_confusion, read_rows

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}", EXIT_USAGE)
    try:
        rows = read_rows(path)
    except (BadRow, UnicodeDecodeError) as e:
        raise CliError(str(e)) from e
    nlu = _nlu(settings)

    async def run() -> int:
        try:
            rep = await evaluate(nlu, rows)
        except BackendError as e:
            raise CliError(str(e)) from e
        finally:
            await nlu.close()
        if args.json:
            _print_json(rep.to_json(), sys.stdout)
        else:
            print(rep.render())
            if args.errors:
                for err in rep.errors:
                    _print_json(err, sys.stdout)
        if args.plot:
            plot_confusion(rep, Path(args.plot))
            print(f"confusion matrix -> {args.plot}", file=sys.stderr)
        return 0

    return asyncio.run(run())


def cmd_nlu_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.review.export import FILE_NAME, ExportRefused, export_from_database

    target = Path(args.dir) if args.dir else settings.nlu.data_dir
    try:
        intents, risks = asyncio.run(export_from_database(settings, target))
    except ExportRefused as e:
        raise CliError(str(e), EXIT_USAGE) from e
    print(f"{intents} labelled examples -> {target / FILE_NAME} ({risks} with a risk level -> risk_data/{FILE_NAME})")
    return 0


# ---- wiring --------------------------------------------------------------------------------------

Handler = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sigurno",
        description="Sigurno: a chatbot for safe work abroad, with a human mediator handoff.",
    )
    p.add_argument("--config", help="configuration file (default: config.yml, or $SIGURNO_CONFIG)")
    p.add_argument("-v", "--verbose", action="store_true", help="log more (never message text or ids)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sp = sub.add_parser("parse", help="understand one message (or JSON lines on stdin) and print JSON")
    sp.add_argument("text", nargs="?", help="the message")
    sp.add_argument("--jsonl", action="store_true", help="read JSON lines with a 'text' key from stdin")
    sp.set_defaults(handler=cmd_parse)

    nlu = sub.add_parser("nlu", help="train or evaluate the NLU")
    nsub = nlu.add_subparsers(dest="nlu_command", metavar="ACTION")
    tr = nsub.add_parser("train", help="train the intent and risk models from nlu/data and nlu/risk_data")
    tr.add_argument("--out", help="where to write the model (default: nlu.model_path)")
    tr.add_argument("--if-stale", action="store_true", help="only if the model is missing or older than the data")
    tr.set_defaults(handler=cmd_nlu_train)
    ev = nsub.add_parser("eval", help="evaluate on a labelled JSON-lines file")
    ev.add_argument("file", help="JSON lines with text, intent, country, risk, lang (and optional kind, third_party)")
    ev.add_argument("--plot", metavar="FILE.png", help="write a confusion matrix picture")
    ev.add_argument("--json", action="store_true", help="print the report as JSON")
    ev.add_argument("--errors", action="store_true", help="also print each misread message")
    ev.set_defaults(handler=cmd_nlu_eval)
    ex = nsub.add_parser(
        "export", help="write the examples labelled in the console's review page as Rasa NLU YAML (then retrain)"
    )
    ex.add_argument(
        "dir", nargs="?", help="training data folder (default: nlu.data_dir); risk levels go to its risk_data"
    )
    ex.set_defaults(handler=cmd_nlu_export)

    from bot import commands
    from bot.accounts.cli import register as register_users
    from bot.reports.cli import register as register_report

    commands.register(sub)
    register_users(sub)
    register_report(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from bot.logsafe import install_log_filters

    install_log_filters()
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        settings = load_settings(Path(args.config) if args.config else None)
        return handler(args, settings)
    except SettingsError as e:
        print(f"sigurno: {e}", file=sys.stderr)
        return EXIT_USAGE
    except CliError as e:
        print(f"sigurno: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`sigurno nlu eval ... | head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
