// The Webhooks view (being built).

import { h, replace, stateLine } from "../dom.js";

export default {
  id: "webhooks",
  title: "Webhooks",
  adminOnly: false,
  mount(root) {
    replace(root, h("h2", {}, "Webhooks"), stateLine("empty", "Coming soon."));
    return null;
  },
};
