"""``patterns`` on a source: ``patterns = true``, or a table of mining options.

Kept free of imports from ``logagent.config.model`` (which imports this module) so the source
model can name :class:`PatternsConfig` directly.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from logagent.patterns.masking import KINDS, Masking
from logagent.patterns.miner import MinerOptions

_D = MinerOptions()


class PatternsConfig(BaseModel):
    """Template mining on one source (every key optional; the defaults suit every kind of log)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    #: Share of equal tokens for a line to join a template.
    similarity: float = Field(default=_D.similarity, gt=0, le=1)
    #: Different words at one position that make it a variable (0 disables).
    distinct: int = Field(default=_D.distinct, ge=0)
    #: Most positions in which templates merged by ``distinct`` may differ.
    max_diff: int = Field(default=_D.max_diff, ge=1)
    #: Leading tokens that route a line (with its token count).
    depth: int = Field(default=_D.depth, ge=1)
    #: Cap on the templates of this source; the least recently seen is evicted.
    max_templates: int = Field(default=_D.max_templates, gt=0)
    #: Variable kinds masked before grouping.
    mask: list[str] = Field(default_factory=lambda: list(KINDS))
    #: A word holding a digit is a variable.
    digit_tokens: bool = True
    #: Also set the ``template`` field (the text), not only ``template_id``. Off by default: the
    #: text is often as long as the line, and shipping it costs more than mining (see docs).
    template_field: bool = False
    #: Templates exported per source as ``logagent_pattern_top_lines``.
    top_metrics: int = Field(default=20, ge=0, le=1000)
    #: Keep the templates under data_dir/patterns/ so they survive restarts.
    persist: bool = True

    @field_validator("mask")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        unknown = [k for k in value if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
        return value

    def options(self) -> MinerOptions:
        return MinerOptions(
            similarity=self.similarity,
            distinct=self.distinct,
            max_diff=self.max_diff,
            depth=self.depth,
            max_templates=self.max_templates,
            masking=Masking(kinds=tuple(self.mask), digit_tokens=self.digit_tokens),
        )


def _coerce(value: Any) -> Any:
    # `patterns = true` / `false` are shorthands for an empty table / enabled = false.
    if value is True:
        return {}
    if value is False:
        return {"enabled": False}
    return value


#: The type of a source's ``patterns`` key.
PatternsOption = Annotated[PatternsConfig, BeforeValidator(_coerce)]
#: A source without the key: mining off.
PATTERNS_OFF = PatternsConfig(enabled=False)


def patterns_of(value: PatternsConfig) -> PatternsConfig | None:
    """The mining options of a source's ``patterns`` key, or None when mining is off."""
    return value if value.enabled else None
