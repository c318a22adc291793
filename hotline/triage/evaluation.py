"""Scoring the scanner against labelled messages, with the clinical targets it must meet."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hotline.risk import RiskLevel
from hotline.triage.scanner import TextRiskScanner

HIGH_RANK = RiskLevel.HIGH.rank


@dataclass(frozen=True)
class LevelFigures:
    """How messages of one true level were rated."""

    level: RiskLevel
    count: int
    exact: int
    at_or_above: int  # predicted at least the true level
    high_or_above: int  # predicted high or imminent (a false alarm for none and low)

    def share(self, value: int) -> float:
        """A count as a fraction of this level's messages (1.0 when there are none)."""
        return value / self.count if self.count else 1.0


@dataclass(frozen=True)
class Target:
    """One clinical target: a share of one level's messages, at least or at most a bound."""

    name: str
    value: float
    bound: float
    at_most: bool

    @property
    def passed(self) -> bool:
        """Whether the target is met."""
        return self.value <= self.bound if self.at_most else self.value >= self.bound


@dataclass(frozen=True)
class Evaluation:
    """Figures per true level, the targets, and the messages rated differently."""

    figures: tuple[LevelFigures, ...]
    targets: tuple[Target, ...]
    misses: tuple[tuple[RiskLevel, RiskLevel, str], ...]  # (true, predicted, text)

    @property
    def passed(self) -> bool:
        """Whether every target is met."""
        return all(t.passed for t in self.targets)


def evaluate(scanner: TextRiskScanner, labelled: Iterable[tuple[str, RiskLevel]]) -> Evaluation:
    """Rate each (text, true level) pair and compute the figures and targets."""
    counts = {level: [0, 0, 0, 0] for level in RiskLevel}
    misses: list[tuple[RiskLevel, RiskLevel, str]] = []
    for text, truth in labelled:
        predicted = scanner.scan(text).level
        row = counts[truth]
        row[0] += 1
        row[1] += predicted == truth
        row[2] += predicted.rank >= truth.rank
        row[3] += predicted.rank >= HIGH_RANK
        if predicted != truth:
            misses.append((truth, predicted, text))
    figures = {level: LevelFigures(level, *row) for level, row in counts.items()}
    return Evaluation(tuple(figures.values()), _targets(figures), tuple(misses))


def _targets(figures: dict[RiskLevel, LevelFigures]) -> tuple[Target, ...]:
    imminent, high, moderate = (
        figures[x] for x in (RiskLevel.IMMINENT, RiskLevel.HIGH, RiskLevel.MODERATE)
    )
    calm_count = figures[RiskLevel.NONE].count + figures[RiskLevel.LOW].count
    calm_alarms = figures[RiskLevel.NONE].high_or_above + figures[RiskLevel.LOW].high_or_above
    share: Callable[[LevelFigures, int], float] = LevelFigures.share
    return (
        Target(
            "imminent rated high or imminent",
            share(imminent, imminent.high_or_above),
            0.95,
            at_most=False,
        ),
        Target("imminent rated imminent", share(imminent, imminent.exact), 0.80, at_most=False),
        Target("high rated high or above", share(high, high.at_or_above), 0.90, at_most=False),
        Target(
            "moderate rated moderate or above",
            share(moderate, moderate.at_or_above),
            0.80,
            at_most=False,
        ),
        Target(
            "none/low rated high or above (false alarms)",
            calm_alarms / calm_count if calm_count else 0.0,
            0.05,
            at_most=True,
        ),
    )


def report(evaluation: Evaluation) -> str:
    """The evaluation as text for a terminal."""
    lines = ["level      count  exact  at-or-above  rated-high+"]
    for f in reversed(evaluation.figures):
        lines.append(
            f"{f.level.value:<9} {f.count:>6} {f.share(f.exact):>6.0%} "
            f"{f.share(f.at_or_above):>12.0%} {f.high_or_above:>6} ({f.share(f.high_or_above):.0%})"
        )
    lines.append("")
    for t in evaluation.targets:
        sign = "<=" if t.at_most else ">="
        verdict = "PASS" if t.passed else "FAIL"
        lines.append(f"{verdict}  {t.name}: {t.value:.1%} (target {sign} {t.bound:.0%})")
    if evaluation.misses:
        lines.append("")
        lines.append("rated differently (true -> predicted):")
        for truth, predicted, text in evaluation.misses:
            lines.append(f"  {truth.value} -> {predicted.value}: {text}")
    return "\n".join(lines)
