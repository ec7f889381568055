"""Pipelines: how a cell's conversation becomes a model call (`@pipeline` registry)."""

from workbench.calls.engine import Generation
from workbench.pipelines.base import PIPELINES, Conversation, Message, Pipeline, build_pipeline, pipeline

__all__ = ["PIPELINES", "Conversation", "Generation", "Message", "Pipeline", "build_pipeline", "pipeline"]
