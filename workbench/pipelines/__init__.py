"""Pipelines turn a cell into a model call. Each is named in experiment specs."""

from workbench.pipelines.base import Conversation, Generation, Message, Pipeline

PIPELINES = ("langchain",)

__all__ = ["PIPELINES", "Conversation", "Generation", "Message", "Pipeline"]
