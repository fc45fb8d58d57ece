// The Analytics view (being built).

import { h, replace, stateLine } from "../dom.js";

export default {
  id: "analytics",
  title: "Analytics",
  adminOnly: false,
  mount(root) {
    replace(root, h("h2", {}, "Analytics"), stateLine("empty", "Coming soon."));
    return null;
  },
};
