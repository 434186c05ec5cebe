#!/usr/bin/env python3
"""Renders every chat template of templates.json with every conversation of conversations.json
through transformers' chat-template renderer (Jinja2, as apply_chat_template runs it) and writes
expected/transformers/<template>.json, the files the C++ tests compare against byte for byte:
transformers is the final word (reference_node.mjs writes expected/node/ with @huggingface/jinja;
the tests count the cells where it agrees).

Run it where transformers is installed (e.g. the GPU machine), from the repository root:

  python3 tokenizer/testdata/chat/reference_transformers.py          # writes expected/transformers/
  python3 tokenizer/testdata/chat/reference_transformers.py --check  # compares, exits 1 on a difference
  git diff tokenizer/testdata/chat/expected                          # what transformers changed

It renders through transformers.utils.chat_template_utils.render_jinja_template, the function
apply_chat_template calls, with the special tokens of the tokenizer config passed as keyword
arguments exactly as apply_chat_template passes tokenizer.special_tokens_map, so no tokenizer
needs to be loaded. With --jinja2 it uses plain Jinja2 set up the way transformers sets it up
(trim_blocks, lstrip_blocks, loopcontrols, tojson through json.dumps with ensure_ascii=False,
raise_exception): a check of Jinja2's semantics on a machine without transformers, not the final
word; the files it writes say which renderer made them.

Templates named by "testdata" are read from $LIGHTRL_TESTDATA (default ~/.cache/lightrl/testdata;
scripts/fetch-testdata fills it); the others from this folder. A cell is {"text": output},
{"error": message, "raised": true} when the template called raise_exception, or
{"error": message, "raised": false} for any other failure.
"""
import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPECIAL_TOKENS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                  "mask_token"]


def token_string(value):
    """The string of a special-token entry: a string, or an AddedToken object's content."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


def load_template(entry):
    if "template" in entry:
        return (HERE / entry["template"]).read_text(encoding="utf-8"), entry["special_tokens"]
    if "testdata" in entry:
        root = Path(os.environ.get("LIGHTRL_TESTDATA",
                                   Path.home() / ".cache/lightrl/testdata"))
        path = root / entry["testdata"]
    else:
        path = HERE / entry["config"]
    if not path.exists():
        sys.exit(f"{path} is missing: run scripts/fetch-testdata")
    config = json.loads(path.read_text(encoding="utf-8"))
    tokens = {}
    for key in SPECIAL_TOKENS:
        token = token_string(config.get(key))
        if token is not None:
            tokens[key] = token
    if isinstance(config.get("additional_special_tokens"), list):
        tokens["additional_special_tokens"] = [
            token_string(t) for t in config["additional_special_tokens"]]
    source = config["chat_template"]
    if isinstance(source, list):
        source = next(named["template"] for named in source if named["name"] == "default")
    return source, tokens


class Raised(Exception):
    """What raise_exception throws in --jinja2 mode."""


def transformers_renderer():
    import transformers
    from jinja2.exceptions import TemplateError
    from transformers.utils.chat_template_utils import render_jinja_template

    def render(source, context):
        context = dict(context)
        messages = context.pop("messages")
        try:
            rendered, _ = render_jinja_template(conversations=[messages], chat_template=source,
                                                **context)
            return {"text": rendered[0]}
        except TemplateError as error:  # raise_exception raises a bare TemplateError
            raised = type(error) is TemplateError
            return {"error": str(error), "raised": raised}
        except Exception as error:  # noqa: BLE001: any other failure of the template
            return {"error": str(error), "raised": False}

    return render, f"transformers {transformers.__version__}"


def jinja2_renderer():
    import jinja2
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def raise_exception(message):
        raise Raised(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception

    def render(source, context):
        try:
            return {"text": env.from_string(source).render(**context)}
        except Raised as error:
            return {"error": str(error), "raised": True}
        except Exception as error:  # noqa: BLE001: any other failure of the template
            return {"error": str(error), "raised": False}

    return render, f"jinja2 {jinja2.__version__} (as transformers sets it up)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--jinja2", action="store_true", help="plain Jinja2, no transformers")
    args = parser.parse_args()
    render, renderer = jinja2_renderer() if args.jinja2 else transformers_renderer()
    templates = json.loads((HERE / "templates.json").read_text(encoding="utf-8"))
    conversations = json.loads((HERE / "conversations.json").read_text(encoding="utf-8"))
    (HERE / "expected" / "transformers").mkdir(parents=True, exist_ok=True)
    differences = 0
    for entry in templates:
        source, tokens = load_template(entry)
        cells = {}
        for conversation in conversations:
            context = {**tokens, "messages": conversation["messages"],
                       "tools": conversation.get("tools"), "documents": None,
                       "add_generation_prompt": conversation["add_generation_prompt"],
                       **conversation.get("kwargs", {})}
            cells[conversation["name"]] = render(source, context)
        path = HERE / "expected" / "transformers" / f"{entry['name']}.json"
        if args.check:
            old = json.loads(path.read_text(encoding="utf-8"))["cells"] if path.exists() else {}
            for name, cell in cells.items():
                if cell != old.get(name):
                    print(f"{entry['name']} x {name}: differs from the committed expected output")
                    differences += 1
        else:
            text = json.dumps({"renderer": renderer, "cells": cells}, indent=2,
                              ensure_ascii=False)
            path.write_text(text + "\n", encoding="utf-8")
    print(f"reference_transformers ({renderer}): {len(templates)} templates x "
          f"{len(conversations)} conversations"
          + (f", {differences} difference(s)" if args.check else ", written to expected/transformers/"))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
