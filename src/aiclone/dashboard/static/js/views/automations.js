// @ts-check
// Automations: the user's rules (trigger event + conditions + one action), their run counts and
// failures, a form to create and edit them, and manual runs with sample event data.
//
// Live: a successful run writes `automation_triggered`; a failure after a success sends the
// owner a warning notification whose data names the rule. Either refreshes the list, so the
// counts, the last run and the last error move without a reload; `reset` reloads too. The
// summary of the latest run seen while the page is open is shown under its rule.
//
// The view is four modules: automations/state.js (what the page holds, and the pure rules),
// automations/form.js and automations/render.js (the DOM), automations/actions.js (requests
// and what they change).

import { debounce } from "../format.js";
import { createState } from "./automations/state.js";
import { ruleForm } from "./automations/form.js";
import { layout } from "./automations/render.js";
import { edit, load, submitForm } from "./automations/actions.js";

export {
  ACTIONS,
  OPERATORS,
  SampleError,
  TRIGGERS,
  actionText,
  conditionText,
  conditionsText,
  errorsByField,
  parseSample,
  parseValue,
  ruleBody,
  sampleFor,
  splitTags,
  triggerLabel,
  valueText,
} from "./automations/state.js";

export default {
  id: "automations",
  title: "Automations",
  /**
   * @param {HTMLElement} root
   * @param {{ api: import("../api.js").Api, live: any, toast: (message: string, kind?: string) => void }} services
   */
  mount(root, { api, live, toast }) {
    const state = createState();
    const form = ruleForm();
    const ui = layout(root, form);
    /** @type {import("./automations/actions.js").AutomationsContext} */
    const ctx = { api, toast, state, form, ui };
    form.form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitForm(ctx);
    });
    form.cancel.addEventListener("click", () => edit(ctx, null));
    edit(ctx, null);

    const refresh = debounce(() => state.alive && load(ctx), 150);
    const unsubscribe = [
      live.on("automation_triggered", (/** @type {any} */ event) => {
        if (event.ephemeral) return;
        const data = event.data ?? {};
        if (data.automation_id && !data.manual) {
          state.lastResults.set(String(data.automation_id), { status: "ok", text: String(data.summary ?? "") });
        }
        refresh();
      }),
      live.on("notification", (/** @type {any} */ event) => {
        if (!event.ephemeral && event.data?.notification?.data?.automation_id) refresh();
      }),
      // A failure writes no run event (and notifies only the first of a series), but the event
      // that triggered it is on the stream: any event a rule listens to refreshes the list.
      live.on("*", (/** @type {any} */ event) => {
        if (!event.ephemeral && state.rules.some((rule) => rule.enabled && rule.trigger_event === event.type)) refresh();
      }),
      live.on("reset", () => refresh()),
    ];
    load(ctx);
    return () => {
      state.alive = false;
      unsubscribe.forEach((stop) => stop());
    };
  },
};
