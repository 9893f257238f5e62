"""What an export wrote and what it left out, by reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SKIP_INFRA_ERROR = "infra_error"
SKIP_UNSCORED = "produced, not scored"
SKIP_NO_SCORE = "no final score"
SKIP_NOT_SCORED_STATUS = "status is not scored"
SKIP_DUPLICATE = "duplicate episode"
SKIP_NO_CONVERSATION = "conversation not rebuildable (schema < 3)"
SKIP_NO_TURN = "no assistant turn"
SKIP_BELOW_MIN_SCORE = "below --min-score"
SKIP_NO_DIMENSION = "dimension not scored"
SKIP_ALONE = "no other episode of its instance and level"
SKIP_PROMPT_MISMATCH = "pair with a different prompt"
SKIP_MARGIN = "pair under the margin"
SKIP_CAP = "pair over --max-pairs"


@dataclass
class ExportReport:
    """Rows written, episodes read and what was filtered (reason -> count; pairs for DPO)."""

    kind: str
    episodes_read: int = 0
    rows: int = 0
    filtered: Counter[str] = field(default_factory=Counter)
    path: Path | None = None
    source: str = "episode"
    """What the rows were made from: ``episode`` (run exports) or ``instance`` (prompt rows for fresh seeds)."""

    def skip(self, reason: str, count: int = 1) -> None:
        """Count ``count`` episodes (or pairs) left out for ``reason``."""
        if count:
            self.filtered[reason] += count

    def lines(self) -> list[str]:
        """The report as plain lines: rows, episodes read, then each reason with its count."""
        out = [f"{self.kind}: {self.rows} row(s) from {self.episodes_read} {self.source}(s)"]
        out += [f"  filtered: {reason}: {count}" for reason, count in sorted(self.filtered.items())]
        if self.path is not None:
            out.append(f"  written to {self.path}")
        return out
