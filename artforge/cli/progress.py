"""Rich progress bars on stderr: ``artforge train`` (a trainer callback) and any counted loop."""

from __future__ import annotations

from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from artforge.cli.output import stderr


class TrainingProgress:
    """Shows step, losses and images/s while training; silent with ``quiet``."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.progress: Progress | None = None
        self.task = None

    def on_start(self, trainer) -> None:
        if self.quiet:
            return
        total = trainer.total_steps()
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), console=stderr,
                                 transient=False)
        self.progress.start()
        self.task = self.progress.add_task(trainer.recipe.spec.family, total=total, completed=trainer.step,
                                           stats="")

    def on_step(self, trainer, metrics: dict[str, float]) -> None:
        if self.progress is None:
            return
        shown = " ".join(f"{k} {v:.3f}" for k, v in metrics.items() if k != "images_per_second")
        speed = metrics.get("images_per_second")
        if speed:
            shown += f" | {speed:,.0f} img/s"
        self.progress.update(self.task, completed=trainer.step, stats=shown)

    def on_sample(self, trainer, path: Path) -> None: ...

    def on_checkpoint(self, trainer, path: Path) -> None: ...

    def on_end(self, trainer, result) -> None:
        if self.progress is not None:
            self.progress.stop()


class StepProgress:
    """A bar for any loop that reports (done, total[, stats]): ``with StepProgress("stylize") as bar``."""

    def __init__(self, description: str, quiet: bool = False):
        self.description, self.quiet = description, quiet
        self.progress: Progress | None = None
        self.task = None

    def __enter__(self) -> "StepProgress":
        if not self.quiet:
            self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), console=stderr)
            self.progress.start()
            self.task = self.progress.add_task(self.description, total=None, stats="")
        return self

    def update(self, done: int, total: int | None, stats: dict[str, float] | None = None) -> None:
        if self.progress is not None:
            shown = " ".join(f"{k} {v:.3f}" for k, v in (stats or {}).items())
            self.progress.update(self.task, completed=done, total=total, stats=shown)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def batch_progress(description: str, quiet: bool = False) -> StepProgress:
    """A bar for a batch of images (``with batch_progress("register", quiet) as bar: ...(progress=bar.update)``),
    on a terminal only: piped or captured, stderr keeps only errors and the summary lines."""
    return StepProgress(description, quiet=quiet or not stderr.is_terminal)
