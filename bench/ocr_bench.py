"""What reading a photo costs on this machine: loading the recogniser, then each photo (docs/skills.md).

* load: `import rapidocr_onnxruntime` and building the recogniser, in a fresh
  interpreter (what the first "read this" of a process pays), median of `--loads`;
* per photo: `skills.reading.ocr.read_image` on a decoded photo, median and max wall
  time of `--repeat` runs after one warm-up, and the median CPU time of the process
  (all its threads; less swayed by other work on a shared machine): the demo sign (1024x768), the product photo
  (640x480), a blank wall (no text), a 12.6 MP phone photo of the sign (shrunk to
  2000 px first), and a 6x4000 strip (padded to 2:1).

Usage: python bench/ocr_bench.py [--repeat R] [--loads L]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from skills.reading.ocr import THREADS, read_image, recogniser  # noqa: E402
from tests.support.signs import blank_photo  # noqa: E402

LOAD = (
    "import time; t = time.perf_counter()\n"
    "from skills.reading.ocr import recogniser; recogniser()\n"
    "print(time.perf_counter() - t)"
)


def load_seconds(loads: int) -> list[float]:
    """Seconds to import and build the recogniser, each in a new interpreter."""
    runs = []
    for _ in range(loads):
        out = subprocess.run([sys.executable, "-c", LOAD], cwd=ROOT, capture_output=True, text=True, check=True)
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    return runs


def photos(folder: Path) -> dict[str, Image.Image]:
    sign = Image.open(ROOT / "docs" / "examples" / "sign.jpg").convert("RGB")
    return {
        "sign 1024x768": sign,
        "product 640x480": Image.open(ROOT / "docs" / "examples" / "product_barcode.png").convert("RGB"),
        "blank wall 640x480": Image.open(blank_photo(folder / "wall.jpg")).convert("RGB"),
        "sign 4096x3072": sign.resize((4096, 3072)),
        "strip 6x4000": Image.new("RGB", (6, 4000), "white"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--loads", type=int, default=3)
    args = parser.parse_args()
    print(f"load average over the last minute: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    loads = load_seconds(args.loads)
    print(
        f"recogniser load (import + build, fresh process, {THREADS} threads): median {statistics.median(loads):.2f} s"
    )
    recogniser()
    with tempfile.TemporaryDirectory() as folder:
        for name, picture in photos(Path(folder)).items():
            read_image(picture)  # warm-up: first-run allocations
            times, cpu = [], []
            for _ in range(args.repeat):
                started, used = time.perf_counter(), time.process_time()
                reading = read_image(picture)
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - used)
            lines = " / ".join(reading.lines) or "(no text)"
            print(
                f"{name:20} median {statistics.median(times) * 1000:5.0f} ms  max {max(times) * 1000:5.0f} ms"
                f"  cpu {statistics.median(cpu) * 1000:5.0f} ms  {lines}"
            )
    print(f"load average over the last minute at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
