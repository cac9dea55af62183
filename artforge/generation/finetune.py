"""Few-shot fine-tuning: a new run that starts from a trained checkpoint (``artforge train --init BASE``).

The base decides the architecture (family, image size, channels, condition); the new data is read at its
size.  What works on 10-200 images (Mo et al. 2020, "Freeze the Discriminator"; Zhao et al. 2020,
DiffAugment; Karras et al. 2020):

* the discriminator's lower half is frozen: its generic features stay, its top adapts to the new images;
* DiffAugment is on (``--augment auto`` turns it on under 5,000 images);
* half the base's learning rate unless ``--lr`` is given, and the EMA generator that sampling uses.

The new checkpoints carry their **parent** (the base's SHA-256, family, step and dataset), and so does the
signed record of every image generated from them.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from artforge.errors import UsageError
from artforge.generation.data import ImageDataset
from artforge.generation.model_checkpoint import Checkpoint
from artforge.generation.train_config import TrainConfig

FINE_TUNE_LR_SCALE = 0.5


def base_config(config: TrainConfig, base: Checkpoint, chosen: set[str]) -> TrainConfig:
    """``config`` with the base's family, image size and channels (refusing an option that asks otherwise),
    and the fine-tuning learning rate unless one was chosen."""
    spec = base.spec
    wanted = {"model": spec["family"], "image_size": spec["config"]["image_size"],
              "channels": spec["config"]["channels"]}
    clashes = [f"`{name}` {getattr(config, name)} (the base's: {value})" for name, value in wanted.items()
               if name in chosen and getattr(config, name) != value]
    if "model_options" in chosen and config.model_options:
        clashes.append("`model_options` (the base's architecture is kept)")
    if clashes:
        raise UsageError(f"`init` keeps the base model's architecture, and these differ from it: {'; '.join(clashes)}")
    tuned = replace(config, model=wanted["model"], image_size=wanted["image_size"], channels=wanted["channels"],
                    model_options={})
    tuned.optim = config.optim.for_family(tuned.model)
    if "optim" not in chosen:
        tuned.optim = replace(tuned.optim, lr_g=tuned.optim.lr_g * FINE_TUNE_LR_SCALE,
                              lr_d=tuned.optim.lr_d * FINE_TUNE_LR_SCALE)
    return tuned


def conditioned_like(dataset: ImageDataset, base: Checkpoint) -> ImageDataset:
    """The new data with what the base is conditioned on: its class names and indexes for a class-conditioned
    base; captions for a prompt-conditioned one (their words are checked when they are encoded)."""
    condition = base.spec["condition"]
    if condition["mode"] == "text" and not dataset.captions:
        raise UsageError("the base is conditioned on prompts: give the images a captions.csv (file,caption)")
    if condition["mode"] != "label":
        return dataset
    known = list(condition["class_names"])
    if dataset.labels is None:
        raise UsageError(f"the base is conditioned on classes ({', '.join(known[:8])}...): put the images in "
                         "subfolders named after them")
    unknown = [name for name in dataset.class_names if name not in known]
    if unknown:
        raise UsageError(f"class(es) the base does not know: {', '.join(unknown[:8])} (it knows: "
                         f"{', '.join(known[:12])})")
    index = torch.tensor([known.index(name) for name in dataset.class_names])
    return ImageDataset(dataset.images, dataset.name, index[dataset.labels], known, dataset.captions)


def load_base_weights(recipe, base: Checkpoint) -> None:
    """Copy the base's networks into a fresh recipe (its optimisers start anew)."""
    saved = base.data["modules"]
    for name, module in recipe.modules().items():
        # A base trained without EMA has only "g"; a packaged base keeps only "g_ema" (what sampling uses).
        source = saved.get(name) or saved.get({"g_ema": "g", "g": "g_ema"}.get(name, ""))
        if source is None:
            raise UsageError(f"{base.path}: the base has no '{name}' network to start from")
        module.load_state_dict(source)
    if hasattr(recipe, "freeze_lower_discriminator"):
        recipe.freeze_lower_discriminator()


def lineage(base: Checkpoint) -> dict:
    """What a fine-tuned checkpoint, and every record of an image generated from it, says of its parent."""
    dataset = base.data.get("dataset", {})
    return {"checkpoint_sha256": base.sha256, "family": base.spec["family"], "step": base.step,
            "dataset": {"name": dataset.get("name"), "fingerprint": dataset.get("fingerprint"),
                        "images": dataset.get("images")}}
