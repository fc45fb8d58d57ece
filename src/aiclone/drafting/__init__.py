"""Drafting with a language model: outreach messages and content items, written as tasks.

``POST /api/outreach/generate`` and ``POST /api/content/generate`` queue a task of kind
``outreach_draft`` / ``content_draft`` in the research task queue (:mod:`.service`); the research
runner runs it with :class:`~aiclone.drafting.drafter.LLMDrafter`, streaming the text as it is
written and landing the draft in its owner's transaction. Tokens are counted per task, per user
and per day, against the daily budget (:mod:`aiclone.research.usage`).

Why the research queue and not a queue of its own: a drafting task needs exactly what a research
task has (claims that never run twice, leases and recovery from dead workers, cancel and retry,
a timeout, progress on the live stream, the task API). A second queue would copy all of it;
a ``kind`` column and a drafter beside the engines cost a few lines in the runner.
"""
