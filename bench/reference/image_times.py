#!/usr/bin/env python3
"""transformers' AutoImageProcessor (its default backend) on the same images as bench/image_bench:
open with PIL, process, repeated, one torch thread. Usage: image_times.py PROCESSOR_DIR IMAGES_DIR [REPEATS]"""
import os
import sys
import time

import torch
import transformers
from PIL import Image

torch.set_num_threads(1)
folder, images_dir = sys.argv[1], sys.argv[2]
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
processor = transformers.AutoImageProcessor.from_pretrained(folder)
paths = sorted(os.path.join(images_dir, n) for n in os.listdir(images_dir) if n.endswith((".jpg", ".png")))
processor(images=Image.open(paths[0]), return_tensors="pt")  # warm-up
start = time.perf_counter()
for _ in range(repeats):
    for p in paths:
        processor(images=Image.open(p), return_tensors="pt")
seconds = time.perf_counter() - start
print(f"transformers {os.path.basename(folder):<8} {len(paths) * repeats / seconds:6.1f} images/s "
      f"({type(processor).__name__}, transformers {transformers.__version__}, 1 thread)")
