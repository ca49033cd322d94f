"""The models of `zh makemore`, one entry each: how to build a model of a type from its config.

Page: [makemore / WaveNet](../makemore/wavenet.md#one-command-for-every-model) shows the registry;
every model follows the sequence contract of `zh.models.sequence`, so the command trains,
evaluates and samples each the same way. A model's command-line options (``--n-embd``...) are
the fields of its config dataclass (`config_fields`), with the help text of each field's ``metadata``.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field

import torch.nn as nn

from zh.cli import option_name

from zh.models.bigram import Bigram, BigramConfig
from zh.models.gpt import GPT, GPTConfig
from zh.models.mlp import MLP, MLPConfig
from zh.models.sequence import FixedContext
from zh.models.wavenet import WaveNet, WaveNetConfig


# --8<-- [start:registry]
@dataclass(frozen=True)
class ModelType:
    """One entry of the registry: how to build a model of this type from its config.

    Attributes:
        model: The model class; ``model(config)`` builds one.
        config: Its config dataclass; each field not in ``from_data`` becomes a command-line option.
        fixed_context: ``model`` maps ``(N, block_size)`` contexts to ``(N, V)`` logits and is
            wrapped in ``zh.models.sequence.FixedContext``; ``False``: it already follows the
            sequence contract ``(B, T) -> (B, T, V)`` (a transformer).
        defaults: Config values this command uses when the command line gives none, where they
            differ from the config's own (the GPT's defaults are sized for tiny shakespeare).
        from_data: Config fields set from the data: ``vocab_size``, and for a sequence model
            ``block_size`` (the longest item plus its start token).
    """

    model: type[nn.Module]
    config: type
    fixed_context: bool = True
    from_data: tuple[str, ...] = ("vocab_size",)
    defaults: dict = field(default_factory=dict)

    def make_config(self, data: dict, given: dict | None = None):
        """The config for ``data`` (values of ``from_data``), with ``given`` options over ``defaults``.

        Raises:
            ValueError: an option of ``given`` is not a setting of this model, or the config refuses a value.
        """
        settings = {f.name for f in dataclasses.fields(self.config)} - set(self.from_data)
        foreign = sorted(set(given or {}) - settings)
        if foreign:
            raise ValueError(f"{', '.join(map(option_name, foreign))} {'does' if len(foreign) == 1 else 'do'} not "
                             f"apply to it")
        return self.config(**{name: data[name] for name in self.from_data}, **{**self.defaults, **(given or {})})

    def build(self, config) -> nn.Module:
        """A fresh model of this type that follows the sequence contract."""
        model = self.model(config)
        return FixedContext(model) if self.fixed_context else model


#: name -> ModelType. A new model is one more entry here (and its own file under zh/models/).
MODELS = {
    "bigram": ModelType(Bigram, BigramConfig),
    "mlp": ModelType(MLP, MLPConfig),
    "wavenet": ModelType(WaveNet, WaveNetConfig),
    "transformer": ModelType(GPT, GPTConfig, fixed_context=False, from_data=("vocab_size", "block_size"),
                             defaults={"n_layer": 4, "n_head": 4, "n_embd": 64}),  # makemore's transformer
}
# --8<-- [end:registry]

DEFAULT_TYPE = "mlp"


def config_fields() -> dict[str, tuple[type, str]]:
    """Every settable config field of every registered model (the union, by name): its type and help."""
    fields = {}
    for entry in MODELS.values():
        hints = typing.get_type_hints(entry.config)  # ``float | None`` (an optional field) gives float
        for f in dataclasses.fields(entry.config):
            if f.name not in entry.from_data:
                kind = next(k for k in (*typing.get_args(hints[f.name]), hints[f.name]) if k is not type(None))
                fields.setdefault(f.name, (kind, f.metadata.get("help", "")))
    return fields
