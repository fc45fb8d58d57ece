// @ts-check
// Generated from aiclone.events.types by `python -m aiclone.dashboard.event_types`; do not edit.
// A test fails when this file and the catalogue differ.

/** Every event type the backbone records. */
export const EVENT_TYPES = Object.freeze([
  "prospect_added",
  "prospect_updated",
  "research_completed",
  "task_update",
  "task_completed",
  "outreach_sent",
  "content_published",
  "content_updated",
  "outreach_updated",
  "automation_triggered",
  "activity",
  "notification",
]);

/** The event types an automation may react to, in the API document's order. */
export const AUTOMATION_TRIGGERS = Object.freeze([
  "prospect_added",
  "prospect_updated",
  "research_completed",
  "task_update",
  "task_completed",
  "outreach_sent",
  "outreach_updated",
  "content_published",
  "content_updated",
]);
