"""Score the trained GPT and BERT on the same validation characters, and keep what the GPT-vs-BERT page shows.

    python scripts/gpt_vs_bert.py --gpt .cache/gpt.pt --bert .cache/bert.pt
    python scripts/gpt_vs_bert.py --gpt A --bert B --out-dir /tmp/x    # (the tests, with tiny models)

The checkpoints are those of scripts/train_gpt.py and scripts/train_bert.py (``--checkpoint``).
The validation text is cut into consecutive windows of the GPT's ``block_size`` characters; the
GPT predicts every character from the ones before it in its window (its training objective, as
its whole-split validation loss). BERT scores the same characters in its own, shorter windows
(which divide the GPT's): each is masked once with about 14% of its window
(`zh.models.bert.masked_char_scores`) and predicted from both sides. Writes ``docs/results/gpt_vs_bert.{json,md}``
(the table, broken down by kind of character and by place in the window; both models' attention
maps on one validation line; BERT filling masked characters of real validation lines; BERT
generating by iterative unmasking next to the GPT generating left to right) and
``docs/results/gpt_vs_bert_fills.md`` (the fills as coloured HTML).
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

import lm_training as lm
import results
import torch
import torch.nn.functional as F
from train_gpt import ATTENTION_TEXT

from zh import cli
from zh import train as training
from zh.cli import CLIError
from zh.data import shakespeare_splits
from zh.models.bert import BERT, BertConfig, fill_masks, iterative_unmask, mask_tokens, masked_char_scores
from zh.models.gpt import GPT, GPTConfig, attention_maps
from zh.nn import eval_mode

FILL_LINES = 5  # validation lines BERT fills in


def load(kind, path: Path, option: str):
    """A trained model from a training script's checkpoint, and how long it had trained.

    Raises:
        CLIError: the file is not a checkpoint of that kind of model (``option`` names it).
    """
    state = training.load_checkpoint(path, lm.FORMAT, lm.CHECKPOINT)  # the GPT's or BERT's: one format
    try:
        model = kind((BertConfig if kind is BERT else GPTConfig)(**state["config"]))
        model.load_state_dict(state["model"])
    except (TypeError, ValueError, RuntimeError):  # weights of the other kind of model, or of none
        raise CLIError(f"{option} {path} does not hold a {kind.__name__} (is it the other script's "
                       f"checkpoint?)") from None
    history = state.get("history") or [{"step": state.get("step", 0), "seconds": 0.0}]
    return model.eval(), {"step": history[-1]["step"], "seconds": history[-1]["seconds"],
                          "batch_size": state.get("batch_size")}


def categories(y: torch.Tensor, prev: torch.Tensor, chars: list[str]) -> dict[str, torch.Tensor]:
    """Masks over the scored characters ``y``: what kind of character each is (``prev``: the one before it)."""
    letter = torch.tensor([c.isalpha() for c in chars])
    return {
        "first letter of a word": letter[y] & ~letter[prev],
        "later letter of a word": letter[y] & letter[prev],
        "space": y == chars.index(" "),
        "newline": y == chars.index("\n"),
        "punctuation": ~letter[y] & (y != chars.index(" ")) & (y != chars.index("\n")),
    }


@torch.no_grad()
def gpt_char_scores(gpt: GPT, x: torch.Tensor, y: torch.Tensor, batch_size: int = 64):
    """Per-character cross-entropy and correctness of the GPT on windows ``x`` with next characters ``y``."""
    loss, correct = [], []
    for i in range(0, len(x), batch_size):
        logits = gpt(x[i:i + batch_size])[0]
        loss.append(F.cross_entropy(logits.transpose(1, 2), y[i:i + batch_size], reduction="none"))
        correct.append(logits.argmax(-1) == y[i:i + batch_size])
    return torch.cat(loss).view(-1), torch.cat(correct).view(-1)


def maps_as_rows(model, ids: torch.Tensor) -> list:
    """``(n_layer, n_head, T)`` rows of 3-decimal numbers: the attention maps on ``ids``, small in JSON."""
    return [[[" ".join(f"{p:.3f}" for p in row) for row in head] for head in layer]
            for layer in attention_maps(model, ids)[:, 0].tolist()]


def fills(bert: BERT, gpt: GPT, chars, val: torch.Tensor, mask_id: int, generator) -> list[dict]:
    """BERT (and the GPT, from the left only) guessing masked characters of a few validation lines.

    Each line sits in the middle of a BERT window; the GPT reads the ``block_size`` characters
    before each character it guesses.
    """
    T, T_gpt = bert.config.block_size, gpt.config.block_size
    newlines = (val == chars.index("\n")).nonzero()[:, 0].tolist()
    lines = [(start, end) for start, end in zip(newlines, newlines[1:])
             if T // 2 <= end - start - 1 <= T - T // 4 and max(T, T_gpt) <= start and end + T < len(val)]
    out = []
    for start, end in lines[:: len(lines) // FILL_LINES][:FILL_LINES]:  # lines spread over the validation text
        lo = start + 1 - (T - (end - start - 1)) // 2  # the window of T characters with the line in its middle
        window = val[lo:lo + T][None]
        line = slice(start + 1 - lo, end - lo)
        _, targets = mask_tokens(window[:, line], mask_id, generator=generator)
        hide = targets[0] != -1
        masked = window.clone()
        masked[0, line] = torch.where(hide, mask_id, window[0, line])  # every chosen character shown as [MASK]
        bert_guess = fill_masks(bert, masked, mask_id)[0, line]
        before = torch.stack([val[p - T_gpt:p] for p in range(start + 1, end)])  # a full context for each
        gpt_guess = gpt(before)[0][:, -1].argmax(-1)
        out.append({"start": start + 1, "truth": "".join(chars[i] for i in window[0, line].tolist()),
                    "masked": [int(i) for i in hide.nonzero()[:, 0]],
                    "bert": "".join(chars[i] for i in bert_guess.tolist()),
                    "gpt": "".join(chars[i] for i in gpt_guess.tolist())})
    return out


def generation(bert: BERT, gpt: GPT, chars, val: torch.Tensor, mask_id: int, seed: int) -> dict:
    """The same prompt continued by the GPT (left to right) and by BERT (iterative unmasking), and BERT from nothing."""
    T = bert.config.block_size
    new = T // 2  # each model writes the second half of a window after the same first half
    prompt = val[:T - new][None]
    decode = "".join
    gpt_text = gpt.generate(prompt, new, generator=torch.Generator().manual_seed(seed))[0, prompt.size(1):]
    blank = torch.cat([prompt, torch.full((1, new), mask_id)], 1)
    steps = iterative_unmask(bert, blank, mask_id, generator=torch.Generator().manual_seed(seed))

    def show(ids):  # the generated part, "_" for a character still masked
        return decode("_" if i == mask_id else chars[i] for i in ids[0, prompt.size(1):].tolist())

    nothing = torch.full((1, T), mask_id)
    from_nothing = iterative_unmask(bert, nothing, mask_id, generator=torch.Generator().manual_seed(seed))
    every = max(1, new // 4)
    return {
        "prompt": decode(chars[i] for i in prompt[0].tolist()),
        "gpt": decode(chars[i] for i in gpt_text.tolist()),
        "bert_steps": [show(s) for s in steps[::every]] + ([show(steps[-1])] if (len(steps) - 1) % every else []),
        "bert_all_at_once": show(fill_masks(bert, blank, mask_id)),
        "bert_from_nothing": decode(chars[i] for i in from_nothing[-1][0].tolist()),
        "bert_from_nothing_all_at_once": decode(chars[i] for i in fill_masks(bert, nothing, mask_id)[0].tolist()),
    }


def fills_html(rows: list[dict]) -> str:
    """Each line three times: the truth, then BERT's and the GPT's guesses at its masked characters.

    A guess is green where right and red where wrong; hovering shows the truth.
    """

    def guessed(guesses: str, truth: str, masked: set) -> str:
        spans = []
        for i, (guess, true) in enumerate(zip(guesses, truth)):
            if i not in masked:
                spans.append(html.escape(true))
                continue
            shown = {"\n": "⏎", " ": "␣"}.get(guess, html.escape(guess))
            colour = "#1b7f3b" if guess == true else "#c62828"
            spans.append(f'<span style="background:{colour};color:white" title="truth: {html.escape(repr(true))}">'
                         f'{shown}</span>')
        return "".join(spans)

    out = []
    for r in rows:
        masked = set(r["masked"])
        out.append(f'<pre class="zh-fills">truth: {html.escape(r["truth"])}\n'
                   f'BERT:  {guessed(r["bert"], r["truth"], masked)}\n'
                   f'GPT:   {guessed(r["gpt"], r["truth"], masked)}</pre>')
    return "\n".join(out)


def main(argv=None) -> dict:
    """Score both models and write the results.

    Raises:
        CLIError: a checkpoint is missing, unreadable or of the wrong model, or the two do not fit together.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpt", type=Path, required=True, help="checkpoint of scripts/train_gpt.py")
    parser.add_argument("--bert", type=Path, required=True, help="checkpoint of scripts/train_bert.py")
    parser.add_argument("--threads", type=cli.POSITIVE, default=2)
    parser.add_argument("--seed", type=cli.COUNT, default=0)
    parser.add_argument("--out-dir", type=Path, default=None, help="where to write (default docs/results)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    chars, _, val = shakespeare_splits()
    (gpt, gpt_trained), (bert, bert_trained) = load(GPT, args.gpt, "--gpt"), load(BERT, args.bert, "--bert")
    mask_id = len(chars)
    if gpt.config.vocab_size != mask_id or bert.config.vocab_size != mask_id + 1:
        raise CLIError("the checkpoints are not of tiny shakespeare's characters (and [MASK] for BERT)")
    T, T_gpt = bert.config.block_size, gpt.config.block_size
    if T_gpt % T:
        raise CLIError(f"BERT's windows of {T} characters must divide the GPT's {T_gpt}, so that both score "
                         f"the same characters")

    n = (len(val) - 1) // T_gpt
    x, y = val[: n * T_gpt].view(n, T_gpt), val[1: n * T_gpt + 1].view(n, T_gpt)  # y: the scored characters
    with eval_mode(gpt):
        gpt_loss, gpt_ok = gpt_char_scores(gpt, x, y)
    groups_of = torch.Generator().manual_seed(args.seed)
    bert_loss, bert_ok = masked_char_scores(bert, y.reshape(-1), mask_id, generator=groups_of)
    groups = {"all characters": torch.ones(n * T_gpt, dtype=torch.bool),
              **categories(y.reshape(-1), x.reshape(-1), chars)}
    for model, size in (("GPT", T_gpt), ("BERT", T)):  # the edges of a window: context on one side only
        position, edge = torch.arange(size).repeat(n * T_gpt // size), size // 8
        groups |= {f"first {edge} places of a {model} window": position < edge,
                   f"middle places of a {model} window": (position >= edge) & (position < size - edge),
                   f"last {edge} places of a {model} window": position >= size - edge}
    table = {name: {"characters": int(m.sum()),
                    "gpt_loss": round(gpt_loss[m].mean().item(), 4),
                    "gpt_acc": round(gpt_ok[m].float().mean().item(), 4),
                    "bert_loss": round(bert_loss[m].mean().item(), 4),
                    "bert_acc": round(bert_ok[m].float().mean().item(), 4)}
             for name, m in groups.items() if m.any()}

    ids = torch.tensor([[chars.index(c) for c in ATTENTION_TEXT[-T:]]])
    generator = torch.Generator().manual_seed(args.seed)
    data = {
        "block_size": {"gpt": T_gpt, "bert": T},
        "trained": {"gpt": gpt_trained, "bert": bert_trained},
        "scored_characters": n * T_gpt,
        "table": table,
        "attention": {"text": ATTENTION_TEXT[-T:], "gpt": maps_as_rows(gpt, ids), "bert": maps_as_rows(bert, ids)},
        "fills": fills(bert, gpt, chars, val, mask_id, generator),
        "generation": generation(bert, gpt, chars, val, mask_id, args.seed),
    }
    rows = ["| validation characters | count | GPT loss (left context) | GPT accuracy | BERT loss (masked, both sides) "
            "| BERT accuracy |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in table.items():
        rows.append(f"| {name} | {r['characters']:,} | {r['gpt_loss']:.3f} | {100 * r['gpt_acc']:.1f}% "
                    f"| {r['bert_loss']:.3f} | {100 * r['bert_acc']:.1f}% |")
    shape = lambda c: f"{c.n_layer} layers, {c.n_head} heads, width {c.n_embd}"  # noqa: E731
    rows.append(f"\nThe GPT ({shape(gpt.config)}) after {gpt_trained['step']:,} steps "
                f"({gpt_trained['seconds']:.0f} s of training); BERT ({shape(bert.config)}) after "
                f"{bert_trained['step']:,} steps ({bert_trained['seconds']:.0f} s); windows of {T_gpt} characters "
                f"for the GPT, {T} for BERT.")
    out_dir = Path(args.out_dir or results.RESULTS)
    results.write("gpt_vs_bert", data, "\n".join(rows), out_dir=out_dir)
    env = results.environment()
    (out_dir / "gpt_vs_bert_fills.md").write_text(
        fills_html(data["fills"])
        + f"\n\n<small>From `scripts/gpt_vs_bert.py`, {env['date']}, commit {env['commit']}.</small>\n")
    return data


if __name__ == "__main__":
    sys.exit(cli.run_safely("gpt_vs_bert.py", main))
