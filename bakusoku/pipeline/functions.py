"""The pipeline's function table: one description that drives the local runtime and the AWS template."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class PipelineFunction:
    """One Lambda-style function of the pipeline and the ASL placeholder that names it."""

    name: str
    handler: str
    placeholder: str
    timeout_seconds: int = 30
    memory_mb: int = 2048


STATE_MACHINE_NAME = "photo-pipeline"

FUNCTIONS: tuple[PipelineFunction, ...] = (
    PipelineFunction(
        "store-photo", "bakusoku.pipeline.handlers.store_photo.handler", "StorePhotoFunctionArn"
    ),
    PipelineFunction(
        "make-renditions",
        "bakusoku.pipeline.handlers.make_renditions.handler",
        "MakeRenditionsFunctionArn",
    ),
    PipelineFunction(
        "mark-ready", "bakusoku.pipeline.handlers.mark_ready.handler", "MarkReadyFunctionArn"
    ),
    PipelineFunction(
        "mark-failed", "bakusoku.pipeline.handlers.mark_failed.handler", "MarkFailedFunctionArn"
    ),
)


def definition_text() -> str:
    """The ASL definition of the photo pipeline, exactly as shipped in the package."""
    return (resources.files("bakusoku.pipeline") / "photo_pipeline.asl.yaml").read_text()


def substitutions(function_arn: dict[str, str]) -> dict[str, str]:
    """DefinitionSubstitutions mapping each placeholder to the ARN of its function."""
    return {f.placeholder: function_arn[f.name] for f in FUNCTIONS}
