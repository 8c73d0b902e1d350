#!/usr/bin/env python3
"""Oracle for automodel's image decoding and image processors (tests/oracle/image_processor_oracle_test.cpp):

    hf_image_processor.py IMAGES_DIR OUT_DIR

Writes OUT_DIR/images/: the fixture images plus variants made with Pillow (grayscale, RGBA and
palette PNGs, a small odd-sized JPEG, a tall crop); OUT_DIR/processors/<name>/preprocessor_config.json
for each processor configuration below; and, for every image, what transformers gives:
OUT_DIR/decoded/<image>.bin (PIL.Image.open(...).convert("RGB") as uint8 HxWx3) and
OUT_DIR/pixels/<processor>/<image>.bin (pixel_values[0] of AutoImageProcessor, float32 CxHxW; for
Qwen2-VL all patch rows, with image_grid_thw; for Idefics3 the frames FxCxHxW, with the tiles' rows and columns), listed with their shapes in OUT_DIR/index.json. Images are opened as datasets does (no EXIF rotation).
"""
import json
import os
import sys

import numpy as np
from PIL import Image

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
PROCESSORS = {
    # openai/clip-vit-base-patch32's file (v4 style: bare ints), the default (torchvision) backend.
    "clip": {"image_processor_type": "CLIPImageProcessor", "crop_size": 224, "do_center_crop": True,
             "do_normalize": True, "do_resize": True, "feature_extractor_type": "CLIPFeatureExtractor",
             "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "resample": 3, "size": 224},
    # llava-1.5's: shortest edge 336, crop 336, as dicts.
    "llava": {"image_processor_type": "CLIPImageProcessor", "crop_size": {"height": 336, "width": 336},
              "do_center_crop": True, "do_convert_rgb": True, "do_normalize": True, "do_rescale": True,
              "do_resize": True, "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "resample": 3,
              "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 336}},
    # google/siglip-base-patch16-224's.
    "siglip": {"image_processor_type": "SiglipImageProcessor", "do_normalize": True, "do_rescale": True,
               "do_resize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 3,
               "rescale_factor": 0.00392156862745098, "size": {"height": 224, "width": 224}},
    # A bilinear fixed-size variant (an upscale for the small images).
    "siglip_bilinear_384": {"image_processor_type": "SiglipImageProcessor", "resample": 2,
                            "size": {"height": 384, "width": 384}},
    # Qwen/Qwen2-VL-7B-Instruct's (Qwen2.5-VL's is the same class and values).
    "qwen2_vl": {"image_processor_type": "Qwen2VLImageProcessor", "min_pixels": 3136, "max_pixels": 12845056,
                 "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2, "image_mean": CLIP_MEAN,
                 "image_std": CLIP_STD, "processor_class": "Qwen2VLProcessor"},
    # A pixel budget that shrinks the photos (floor branch) and grows the small images (ceil branch).
    "qwen2_vl_budget": {"image_processor_type": "Qwen2VLImageProcessor",
                        "size": {"shortest_edge": 100352, "longest_edge": 200704}},
    "qwen2_vl_pil": {"image_processor_type": "Qwen2VLImageProcessorPil", "min_pixels": 3136, "max_pixels": 50176},
    # google/gemma-3-4b-it's (null flags keep the class defaults; bilinear 896 x 896).
    "gemma3": {"image_processor_type": "Gemma3ImageProcessor", "do_convert_rgb": None, "do_normalize": True,
               "do_pan_and_scan": None, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
               "image_seq_length": 256, "image_std": [0.5, 0.5, 0.5], "pan_and_scan_max_num_crops": None,
               "pan_and_scan_min_crop_size": None, "pan_and_scan_min_ratio_to_activate": None,
               "processor_class": "Gemma3Processor", "resample": 2, "rescale_factor": 0.00392156862745098,
               "size": {"height": 896, "width": 896}},
    # The PIL backend (Pillow's resampler, numpy's rescale/normalise and crop).
    # Pillow's other filters on the PIL backend: lanczos (downscales and upscales), bilinear.
    "siglip_pil_lanczos": {"image_processor_type": "SiglipImageProcessorPil", "resample": 1,
                           "size": {"height": 224, "width": 224}},
    "siglip_pil_bilinear": {"image_processor_type": "SiglipImageProcessorPil", "resample": 2,
                            "size": {"height": 300, "width": 200}},
    # HuggingFaceM4/Idefics3-8B-Llama3's (LANCZOS, longest edge 1456, tiles of 364 plus the whole image).
    "idefics3": {"image_processor_type": "Idefics3ImageProcessor", "do_image_splitting": True,
                 "max_image_size": {"longest_edge": 364}, "resample": 1, "size": {"longest_edge": 1456},
                 "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
    # SmolVLM-256M's sizes without splitting (one 512 x 512 frame), and a small longest edge on the PIL backend.
    "smolvlm_whole": {"image_processor_type": "SmolVLMImageProcessor", "do_image_splitting": False,
                      "max_image_size": {"longest_edge": 512}, "size": {"longest_edge": 2048}},
    "idefics3_pil": {"image_processor_type": "Idefics3ImageProcessorPil", "max_image_size": {"longest_edge": 96},
                     "size": {"longest_edge": 200}},
    "clip_pil": {"image_processor_type": "CLIPImageProcessorPil", "crop_size": 224, "do_center_crop": True,
                 "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "resample": 3, "size": 224},
}


def make_images(src, out):
    os.makedirs(out, exist_ok=True)
    names = []
    for name in sorted(os.listdir(src)):
        if name.endswith((".jpg", ".png")):
            with open(os.path.join(src, name), "rb") as f, open(os.path.join(out, name), "wb") as g:
                g.write(f.read())
            names.append(name)
    base = Image.open(os.path.join(src, "coco_two_cats.png")).convert("RGB")
    variants = {
        "gray.png": base.convert("L"),
        "rgba.png": Image.merge("RGBA", (*base.split(), base.convert("L"))),
        "palette.png": base.convert("P", palette=Image.Palette.ADAPTIVE, colors=64),
        "tall_crop.png": base.crop((100, 0, 260, 480)),
    }
    for name, image in variants.items():
        image.save(os.path.join(out, name))
        names.append(name)
    small = Image.open(os.path.join(src, "llamafactory_1.jpg")).convert("RGB").resize((97, 61), Image.Resampling.BILINEAR)
    small.save(os.path.join(out, "small_odd.jpg"), quality=90)
    gray_jpeg = base.convert("L").resize((150, 113))
    gray_jpeg.save(os.path.join(out, "gray.jpg"), quality=85)
    names += ["small_odd.jpg", "gray.jpg"]
    return names


def main():
    src, out = sys.argv[1], sys.argv[2]
    import transformers
    names = make_images(src, os.path.join(out, "images"))
    index = {"decoded": {}, "pixels": {}}
    os.makedirs(os.path.join(out, "decoded"), exist_ok=True)
    for name in names:
        rgb = np.asarray(Image.open(os.path.join(out, "images", name)).convert("RGB"), dtype=np.uint8)
        rgb.tofile(os.path.join(out, "decoded", name + ".bin"))
        index["decoded"][name] = list(rgb.shape)
    for proc, config in PROCESSORS.items():
        folder = os.path.join(out, "processors", proc)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
            json.dump(config, f, indent=2)
        backend = "pil" if config["image_processor_type"].endswith("Pil") else None
        if backend:
            config = dict(config, image_processor_type=config["image_processor_type"][: -len("Pil")])
            hf_dir = os.path.join(out, "processors", proc + "_hf")
            os.makedirs(hf_dir, exist_ok=True)
            with open(os.path.join(hf_dir, "preprocessor_config.json"), "w") as f:
                json.dump(config, f, indent=2)
            processor = transformers.AutoImageProcessor.from_pretrained(hf_dir, backend="pil")
        else:
            processor = transformers.AutoImageProcessor.from_pretrained(folder)
        index["pixels"][proc] = {"class": type(processor).__name__, "images": {}, "grids": {}, "tiles": {},
                                 "errors": {}}
        tiles = "max_image_size" in config  # Idefics3/SmolVLM: the tiles' rows and columns too
        os.makedirs(os.path.join(out, "pixels", proc), exist_ok=True)
        for name in names:
            image = Image.open(os.path.join(out, "images", name))
            try:
                out_ = processor(images=image, return_tensors="pt", **({"return_row_col_info": True} if tiles else {}))
            except Exception as e:  # e.g. a grayscale image where do_convert_rgb is null (off)
                index["pixels"][proc]["errors"][name] = f"{type(e).__name__}: {e}"
                continue
            if "image_grid_thw" in out_:  # patch rows of every image, one grid row per image
                pixels = out_["pixel_values"].numpy().astype(np.float32)
                index["pixels"][proc]["grids"][name] = out_["image_grid_thw"][0].tolist()
            else:
                pixels = out_["pixel_values"][0].numpy().astype(np.float32)
            if tiles:
                index["pixels"][proc]["tiles"][name] = [out_["rows"][0][0], out_["cols"][0][0]]
            pixels.tofile(os.path.join(out, "pixels", proc, name + ".bin"))
            index["pixels"][proc]["images"][name] = list(pixels.shape)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
