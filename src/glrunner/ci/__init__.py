""".gitlab-ci.yml -> pipeline plan -> JobPayloads, as GitLab would make them.

Pure except `load_pipeline` (reads the file and its `include: local:` files). Errors in the file
raise `glrunner.errors.CIConfigError` listing every problem with file and line.
"""

from glrunner.ci.context import PipelineContext
from glrunner.ci.evaluate import Decision
from glrunner.ci.load import load_pipeline
from glrunner.ci.model import (
    ArtifactsDef,
    CacheDef,
    EnvironmentDef,
    ImageDef,
    JobDefinition,
    Location,
    NeedDef,
    Pipeline,
    RefPolicy,
    ReleaseDef,
    RetryDef,
    RuleDef,
    ServiceDef,
    VariableDef,
    WorkflowDef,
)
from glrunner.ci.payload import build_payload
from glrunner.ci.pipeline import parse_pipeline
from glrunner.ci.plan import PipelinePlan, PlannedJob, PlannedStage, plan_pipeline

__all__ = [
    "ArtifactsDef",
    "CacheDef",
    "Decision",
    "EnvironmentDef",
    "ImageDef",
    "JobDefinition",
    "Location",
    "NeedDef",
    "Pipeline",
    "PipelineContext",
    "PipelinePlan",
    "PlannedJob",
    "PlannedStage",
    "RefPolicy",
    "ReleaseDef",
    "RetryDef",
    "RuleDef",
    "ServiceDef",
    "VariableDef",
    "WorkflowDef",
    "build_payload",
    "load_pipeline",
    "parse_pipeline",
    "plan_pipeline",
]
