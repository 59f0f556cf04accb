"""Writes ``gb18030_decimal_comma_zh.csv``: a Chinese MES-style export for the Chinese report tests.

    python tests/data/make_gb18030_decimal_comma_zh.py     # rewrites the file byte for byte the same

What a Chinese line's export looks like: GB18030 bytes, ``;`` between fields, a decimal comma,
Windows line ends, Chinese column names (批次号, 温度_℃, 压力_kPa, 转速, 振动, 结果) and the
result as 合格/不合格. 400 batches from a fixed seed. The result follows a rule a model can learn
but that is not read off one column: a batch fails (不合格) when it runs hot *and* shakes, or when
the pressure drops, plus some noise (about one batch in five fails).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROWS = 400
SEED = 20261204
OUT = Path(__file__).with_name("gb18030_decimal_comma_zh.csv")


def decimal_comma(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def rows() -> list[str]:
    rng = np.random.default_rng(SEED)
    temperature = rng.normal(182.0, 6.0, ROWS)  # °C in the furnace
    pressure = rng.normal(101.3, 2.5, ROWS)  # kPa
    speed = rng.integers(1380, 1620, ROWS)  # rpm, whole numbers
    vibration = rng.gamma(4.0, 0.6, ROWS)  # mm/s
    risk = (1.2 * (temperature - 182.0) / 6.0 * (vibration > 2.8) + 1.1 * (vibration - 2.4) / 1.2
            - 1.4 * (pressure - 101.3) / 2.5 + rng.normal(0.0, 0.7, ROWS))
    failed = risk > np.quantile(risk, 0.8)
    lines = ["批次号;温度_℃;压力_kPa;转速;振动;结果"]
    for i in range(ROWS):
        lines.append(";".join([
            f"PC2026-{i + 1:04d}", decimal_comma(temperature[i], 1), decimal_comma(pressure[i], 2), str(speed[i]),
            decimal_comma(vibration[i], 3), "不合格" if failed[i] else "合格",
        ]))
    return lines


def main() -> None:
    OUT.write_bytes(("\r\n".join(rows()) + "\r\n").encode("gb18030"))


if __name__ == "__main__":
    main()
