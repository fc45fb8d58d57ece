"""The catalog of event types: what each means and the JSON schema of its payload.

One source for every reader: ``GET /api/event-types``, the API document's ``webhooks`` section
and the TypeScript SDK's payload types (generated from that document). Each domain declares the
payload struct of the events it records (``EVENT_PAYLOADS`` in its ``schemas`` module);
:mod:`.payloads` only gathers them. The endpoint serves the schemas *of the API document*
(each payload's component with the components it uses as ``$defs``), so the two cannot differ.
"""
