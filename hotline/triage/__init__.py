"""Text risk triage: rules kept as data (config/triage/*.toml) scored over a message's text."""

from hotline.triage.rules import RuleFileError
from hotline.triage.scanner import Assessment, TextRiskScanner

__all__ = ["Assessment", "RuleFileError", "TextRiskScanner"]
