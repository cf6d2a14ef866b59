#!/usr/bin/env python3
"""Write a large folder of class folders of real-sized JPEG photos, to measure
importing pictures (scripts/measure-picture-import.mjs; BENCHMARKS.md).

    python3 scripts/make-picture-set.py SOURCE OUT [--count 10000] [--classes 2]

SOURCE is a folder of class folders of real photos (e.g. the cats vs dogs
sample of the shared data). Each output photo is one of them, randomly
cropped, flipped and scaled to a typical camera-roll size (about 1000 x 750
pixels) and saved as JPEG quality 90: about 100 KB each, so 10,000 make about
1 GB, with the content and the decoding cost of real photos. Distinct photos
are made up to 500 per class and then copied under new names (decoding costs
the same for a copy). Needs Pillow (pip install pillow). Deterministic for a
given seed.
"""
import argparse
import random
import shutil
from pathlib import Path

from PIL import Image, ImageOps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--distinct", type=int, default=500, help="distinct photos per class")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    src = Path(a.source)
    classes = sorted(p for p in src.iterdir() if p.is_dir())[: a.classes]
    out = Path(a.out)
    per_class = a.count // len(classes)
    total = 0
    for cls in classes:
        photos = sorted(p for p in cls.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        made = []
        (out / cls.name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            dst = out / cls.name / f"{cls.name}.{i:05d}.jpg"
            if i < a.distinct:
                img = Image.open(rng.choice(photos)).convert("RGB")
                w, h = img.size
                cw, ch = int(w * rng.uniform(0.7, 1.0)), int(h * rng.uniform(0.7, 1.0))
                x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
                img = img.crop((x, y, x + cw, y + ch))
                if rng.random() < 0.5:
                    img = ImageOps.mirror(img)
                long_side = rng.randint(900, 1100)
                scale = long_side / max(img.size)
                img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BICUBIC)
                img.save(dst, "JPEG", quality=90)
                made.append(dst)
            else:
                shutil.copyfile(made[i % len(made)], dst)
            total += dst.stat().st_size
    print(f"{per_class * len(classes)} photos in {len(classes)} classes, {total / 2**20:.0f} MiB, in {out}")


if __name__ == "__main__":
    main()
