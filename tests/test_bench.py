"""The benchmark command runs end to end and writes its metrics file.

Only the shape is checked here: timing thresholds in tests fail on slow or busy machines
for reasons that have nothing to do with the code. `hotline bench` itself judges the numbers.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from hotline.bench import run_benchmarks
from hotline.config import Config

EXPECTED_UNITS = {
    "take_next_p99_ms": "ms",
    "intake_ratio": "ratio",
    "intake_per_second": "requests/s",
    "minimal_per_second": "requests/s",
    "voice_webhook_ratio": "ratio",
    "voice_webhook_per_second": "requests/s",
    "minimal_form_per_second": "requests/s",
    "page_latency_p99_ms": "ms",
    "timer_lateness_p99_ms": "ms",
    "stats_month_ms": "ms",
    "stats_loop_lag_p99_ms": "ms",
    "take_next_p99_ms_redis": "ms",
    "fanout_p99_ms": "ms",
}


# A plain (sync) test: run_benchmarks drives its own event loops with asyncio.run.
def test_quick_benchmarks_write_every_metric(
    config: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b.json"

    redis = os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert run_benchmarks(config, quick=True, json_path=out, redis_url=redis) == 0

    metrics = json.loads(out.read_text(encoding="utf-8"))["metrics"]
    for name, unit in EXPECTED_UNITS.items():
        assert metrics[name]["unit"] == unit, name
        value = metrics[name]["value"]
        assert isinstance(value, int | float) and not isinstance(value, bool), name
        assert math.isfinite(value) and value > 0, name
    printed = capsys.readouterr().out
    assert "take_next_p99_ms" in printed and "intake_ratio" in printed
    assert "page_latency_p99_ms" in printed and "timer_lateness_p99_ms" in printed
    assert "stats_month_ms" in printed and "stats_loop_lag_p99_ms" in printed
    assert "take_next_p99_ms_redis" in printed and "fanout_p99_ms" in printed
    assert not config.data_dir.exists(), "the benchmark must not touch the configured data dir"
