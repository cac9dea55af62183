"""``artforge stylize``: paint a picture (or a folder of them) in another picture's style.

torch is imported inside the command, not at module import: every other command starts without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from artforge.cli.options import JsonOpt, KeyOpt, PassphraseEnvOpt, QuietOpt, make_home
from artforge.cli.output import Outcome, command, echo
from artforge.cli.progress import StepProgress

app = typer.Typer()


@command(app)
def stylize(
    content: Annotated[Path, typer.Argument(help="The picture to repaint, or a folder of pictures.")],
    style: Annotated[Optional[Path], typer.Argument(help="The style picture (optional with --model).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output PNG (or folder, for a folder of contents).")] = Path(
        "stylized.png"),
    model: Annotated[Optional[Path], typer.Option(
        "--model", "-m", help="A style network from 'artforge train --model style' (fast); default: optimise.")] = None,
    weights: Annotated[Optional[Path], typer.Option(
        "--weights", help="Feature network: a torchvision VGG state dict you have (default: artforge's own).")] = None,
    size: Annotated[int, typer.Option("--size", min=32, max=2048, help="Long side of the result (optimising).")] = 256,
    iterations: Annotated[int, typer.Option("--iterations", min=1, max=10_000, help="Optimisation steps.")] = 200,
    style_weight: Annotated[float, typer.Option("--style-weight", min=0.0, help="More = more style.")] = 5.0,
    register: Annotated[bool, typer.Option(
        "--register", help="Register the result as a derived work of the content and style works.")] = False,
    license_id: Annotated[Optional[str], typer.Option("--license", "-l", help="Licence for --register.")] = None,
    key: KeyOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> Outcome:
    """Repaint CONTENT in the style of STYLE; prints the path of each result.

    Without --model it optimises the picture (Gatys; about half a minute on a laptop CPU); with a trained style
    network it takes a fraction of a second. Nothing is downloaded: the feature network ships with artforge,
    or --weights names a VGG file you have. With --register --license ID the result is registered, its
    record naming the registered content and style works as parents.
    """
    from artforge.errors import UsageError
    from artforge.usecases.stylize import GatysConfig, StyleWeights, stylize_and_register
    from artforge.usecases.stylize import stylize as stylize_pictures

    if register and not license_id:
        raise UsageError("--register needs --license ID")
    if license_id and not register:
        raise UsageError("--license is only used with --register")
    config = GatysConfig(size=size, iterations=iterations, weights=StyleWeights(style=style_weight))
    with StepProgress("stylize", quiet) as bar:
        options = dict(model=model, weights=weights, config=config, progress=bar.update)
        if register:
            result = stylize_and_register(make_home(passphrase_env), content, style, out, licence_id=license_id,
                                          key_name=key, **options)
        else:
            result = stylize_pictures(content, style, out, **options)

    def render(out_console: Console) -> None:
        for image in result.images:
            echo(image.path)

    return Outcome(result.to_dict(), render)
