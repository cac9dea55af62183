"""``artforge train``, ``generate`` and ``interpolate``.

torch is imported inside the commands, not at module import: every other command starts without it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from artforge.cli.options import JsonOpt, KeyOpt, PassphraseEnvOpt, QuietOpt, make_home
from artforge.cli.output import Outcome, command, echo, warn
from artforge.cli.progress import StepProgress, TrainingProgress, batch_progress

app = typer.Typer()

CheckpointArg = Annotated[Path, typer.Argument(help="Checkpoint file (runs/NAME/checkpoints/ckpt-*.pt).")]
LabelOpt = Annotated[Optional[int], typer.Option("--label", help="Class index, for class-conditional models.")]
PromptOpt = Annotated[Optional[str], typer.Option("--prompt", help="Short text, for prompt-conditional models.")]
TruncationOpt = Annotated[float, typer.Option("--truncation", help="Scale the noise (0, 1]: lower = safer images.")]


def _given_fields(context: typer.Context) -> set[str]:
    """The config fields of the options typed on the command line (not left at their defaults)."""
    from artforge.usecases.generate import RUN_OPTIONS

    def typed(name: str) -> bool:
        source = context.get_parameter_source(name)
        return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")

    return {field for field, names in RUN_OPTIONS.items() if any(typed(name) for name in names)}


@command(app)
def train(
    context: typer.Context,
    model: Annotated[str, typer.Option("--model", "-m", help="dcgan, mlpgan, cgan (class or prompt), vae, or style.")] = "dcgan",
    data: Annotated[Optional[str], typer.Option(
        "--data", "-d", help="Image folder, builtin:digits or builtin:shapes (style: builtin:photos).")] = None,
    style: Annotated[Optional[Path], typer.Option("--style", help="--model style: the style picture to learn.")] = None,
    size: Annotated[int, typer.Option("--size", help="Image size: 16, 28, 32, 56, 64 or 128.")] = 32,
    channels: Annotated[Optional[int], typer.Option("--channels", help="1 or 3 (default: the data's own).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=2, help="Images per step.")] = 64,
    steps: Annotated[Optional[int], typer.Option("--steps", min=1, help="Stop at this step.")] = None,
    epochs: Annotated[Optional[float], typer.Option("--epochs", min=0.01, help="Stop after this many epochs.")] = None,
    time_budget: Annotated[Optional[str], typer.Option("--time-budget", help="Stop after e.g. 90s, 5m, 1h.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Run folder (default: runs/MODEL).")] = None,
    resume: Annotated[Optional[str], typer.Option("--resume", help="'latest' (in --out) or a checkpoint file.")] = None,
    init: Annotated[Optional[Path], typer.Option("--init", help="Fine-tune: start a new run from this trained checkpoint.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:1, mps.")] = "auto",
    sample_every: Annotated[int, typer.Option("--sample-every", min=1, help="Write a sample grid every N steps.")] = 200,
    checkpoint_every: Annotated[int, typer.Option("--checkpoint-every", min=1, help="Checkpoint every N steps.")] = 500,
    augment: Annotated[str, typer.Option("--augment", help="DiffAugment: auto, none, or e.g. color,translation,cutout.")] = "auto",
    ema_decay: Annotated[float, typer.Option("--ema-decay", min=0.0, max=0.99999, help="Generator EMA (0 = off).")] = 0.999,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate (both networks).")] = None,
    width: Annotated[Optional[int], typer.Option("--width", help="Network width (GAN ngf/ndf, VAE channels).")] = None,
    data_limit: Annotated[Optional[int], typer.Option("--data-limit", min=1, help="Use at most N images.")] = None,
    condition: Annotated[str, typer.Option("--condition", help="cgan: auto (prompts if captioned), label, text.")] = "auto",
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> Outcome:
    """Train a generator on an image folder or built-in data; prints the final checkpoint's path.

    Ctrl-C saves a checkpoint and exits 130; --resume latest continues exactly where it stopped.
    --model style --style PICTURE trains a fast style network on photographs (see 'artforge stylize').
    """
    from artforge.usecases.generate import OptimConfig, TrainConfig, parse_duration, train_generator

    if model == "style" or style is not None:
        return _train_style(context, style, data, steps, time_budget, batch_size, size, out, width, lr, seed, quiet)
    data = data or "builtin:digits"

    optim = OptimConfig(augment=augment, ema_decay=ema_decay)
    if lr is not None:
        optim.lr_g = optim.lr_d = lr
    options = {} if width is None else ({"width": width} if model == "vae" else {"g_width": width, "d_width": width})
    config = TrainConfig(model=model, data=data, image_size=size, channels=channels, batch_size=batch_size,
                         steps=steps, epochs=epochs, time_budget=parse_duration(time_budget) if time_budget else None,
                         seed=seed, device=device, out=str(out or Path("runs") / model), sample_every=sample_every,
                         checkpoint_every=checkpoint_every, data_limit=data_limit, condition=condition,
                         model_options=options, optim=optim, init=str(init) if init else None)
    follower = int(os.environ.get("RANK", "0")) > 0  # under torchrun only rank 0 reports
    result = train_generator(config, [TrainingProgress(quiet or follower)], resume=resume, given=_given_fields(context))
    for note in [] if follower else result.notes:
        warn(note)
    if not quiet and not follower:
        warn(f"trained to step {result.step} in {result.seconds:.1f} s ({result.images_per_second:,.0f} img/s); "
             f"samples in {Path(result.run_dir) / 'samples'}")

    return Outcome(result.to_dict(), lambda out_console: echo(result.checkpoint), silent=follower)


# Options of the GAN/VAE trainer that a style network has no use for: refused rather than ignored.
STYLE_IGNORES = ("channels", "epochs", "resume", "init", "device", "sample_every", "checkpoint_every", "augment",
                 "ema_decay", "data_limit", "condition")


def _train_style(context: typer.Context, style: Path | None, data: str | None, steps: int | None,
                 time_budget: str | None, batch_size: int, size: int, out: Path | None, width: int | None,
                 lr: float | None, seed: int, quiet: bool) -> Outcome:
    """``train --model style``: the feed-forward style network's own trainer."""
    from artforge.errors import UsageError
    from artforge.usecases.generate import parse_duration
    from artforge.usecases.stylize import StyleTrainConfig, train_style_model

    if context.params["model"] != "style":
        raise UsageError("--style is only used with --model style")
    if style is None:
        raise UsageError("--model style needs --style PICTURE (the style to learn)")
    typed = [name for name in STYLE_IGNORES if context.get_parameter_source(name).name not in ("DEFAULT", "DEFAULT_MAP")]
    if typed:
        raise UsageError("--model style does not use " + ", ".join("--" + n.replace("_", "-") for n in typed))
    given = {name for name in ("batch_size", "size") if context.get_parameter_source(name).name == "COMMANDLINE"}
    config = StyleTrainConfig(style=str(style), out=str(out or Path("runs") / "style"),
                              data=data or "builtin:photos", steps=steps if steps or time_budget else 400,
                              time_budget=parse_duration(time_budget) if time_budget else None, seed=seed,
                              **({"batch_size": batch_size} if "batch_size" in given else {}),
                              **({"crop": size} if "size" in given else {}), **({"lr": lr} if lr else {}))
    if width:
        config.net.width = width
    with StepProgress("style", quiet) as bar:
        result = train_style_model(config, bar.update)
    if not quiet:
        warn(f"trained to step {result.step} in {result.seconds:.1f} s ({result.images_per_second:,.1f} img/s)")
    return Outcome(result.to_dict(), lambda out_console: echo(result.checkpoint))


@command(app)
def generate(
    checkpoint: CheckpointArg,
    count: Annotated[int, typer.Option("-n", "--count", min=1, max=10_000, help="How many images.")] = 16,
    seeds: Annotated[Optional[str], typer.Option("--seeds", help="Seeds, e.g. 0-15 or 3,7,9 (default 0..n-1).")] = None,
    label: LabelOpt = None,
    prompt: PromptOpt = None,
    truncation: TruncationOpt = 1.0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNG files.")] = Path("generated"),
    grid: Annotated[Optional[Path], typer.Option("--grid", help="Also write all images as one grid PNG.")] = None,
    prefix: Annotated[str, typer.Option("--prefix", help="File name prefix.")] = "img",
    register: Annotated[bool, typer.Option("--register", help="Register each image (origin: generated).")] = False,
    license_id: Annotated[Optional[str], typer.Option("--license", "-l", help="Licence for --register.")] = None,
    watermark: Annotated[bool, typer.Option(
        "--watermark", help="With --register: an invisible mark of each record in each image (128 px and up).")] = False,
    c2pa: Annotated[bool, typer.Option(
        "--c2pa", help="With --register: also write NAME.c2pa.png, a copy with signed Content Credentials.")] = False,
    key: KeyOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> Outcome:
    """Sample images from a checkpoint; the same seed gives the same pixels. Prints one path per line.

    With --register --license ID each image is born registered: its provenance record names the
    checkpoint's SHA-256, model, seed, prompt or label, and training data fingerprint.
    """
    from artforge.errors import UsageError
    from artforge.usecases.generate import generate as generate_images
    from artforge.usecases.generate import generate_and_register, parse_seeds

    seed_list = parse_seeds(seeds, count)
    if register and not license_id:
        raise UsageError("--register needs --license ID")
    if license_id and not register:
        raise UsageError("--license is only used with --register")
    if (watermark or c2pa) and not register:
        raise UsageError("--watermark and --c2pa are only used with --register")
    options = dict(label=label, prompt=prompt, truncation=truncation, grid=grid, prefix=prefix)
    if register:
        with batch_progress("register", quiet or len(seed_list) < 2) as bar:
            result = generate_and_register(make_home(passphrase_env), checkpoint, out, seed_list,
                                           licence_id=license_id, key_name=key, progress=bar.update,
                                           watermark=watermark, credentials=c2pa, **options)
    else:
        result = generate_images(checkpoint, out, seed_list, **options)
    for note in result.notes:  # e.g. prompt words the model does not know: on stderr, and in the JSON data
        warn(f"Warning: {note}")

    def render(out_console: Console) -> None:
        for image in result.images:
            echo(image.path)

    return Outcome(result.to_dict(), render)


@command(app)
def interpolate(
    checkpoint: CheckpointArg,
    seed_from: Annotated[int, typer.Option("--from", help="Start seed.")] = 0,
    seed_to: Annotated[int, typer.Option("--to", help="End seed.")] = 1,
    frames: Annotated[int, typer.Option("--frames", help="Number of frames (2-1000).")] = 16,
    out: Annotated[Path, typer.Option("--out", "-o", help="A .gif file, or a folder for PNG frames.")] = Path("interpolation.gif"),
    label: LabelOpt = None,
    prompt: PromptOpt = None,
    truncation: TruncationOpt = 1.0,
    json_output: JsonOpt = False,
) -> Outcome:
    """Walk the noise space between two seeds; writes a GIF or PNG frames, prints their paths."""
    from artforge.usecases.generate import interpolate as run_interpolation

    paths = run_interpolation(checkpoint, seed_from, seed_to, frames, out, label=label, prompt=prompt,
                              truncation=truncation)

    def render(out_console: Console) -> None:
        for path in paths:
            echo(path)

    return Outcome({"paths": paths, "frames": frames}, render)


@command(app)
def evaluate(
    checkpoint: CheckpointArg,
    samples: Annotated[int, typer.Option("--samples", "-n", min=16, max=50_000, help="Images to generate.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="First seed of the generated images.")] = 0,
    features: Annotated[Optional[str], typer.Option("--features", help="Feature net: digits or shapes (default: by dataset).")] = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Score a checkpoint offline: classifier-FID and KID against its training data, and for conditional
    models the classifier's accuracy per label or prompt."""
    from artforge.usecases.generate import evaluate as evaluate_checkpoint

    report = evaluate_checkpoint(checkpoint, samples=samples, seed=seed, features=features)

    def render(out_console: Console) -> None:
        echo(f"checkpoint: {report.checkpoint}")
        echo(f"model: {report.family} on {report.dataset} (condition: {report.condition})")
        echo(f"features: {report.feature_net} classifier; {report.samples} generated vs {report.real_samples} real")
        echo(f"FID: {report.fid:.3f} (real vs real: {report.fid_real_vs_real:.3f})")
        echo(f"KID: {report.kid_mean:.5f} +- {report.kid_std:.5f}")
        if report.accuracy:
            echo("accuracy: " + ", ".join(f"{k} {v:.3f}" for k, v in report.accuracy.items()))
        for score in report.per_condition:
            shown = ", ".join(f"{k} {v:.3f}" for k, v in (score.accuracy or {}).items())
            echo(f"  {score.name}: {shown} ({score.samples} images)")
        for note in report.notes:
            warn(note)

    return Outcome(report.to_dict(), render)
