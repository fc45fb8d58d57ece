// The Research view (being built).

import { h, replace, stateLine } from "../dom.js";

export default {
  id: "research",
  title: "Research",
  adminOnly: false,
  mount(root) {
    replace(root, h("h2", {}, "Research"), stateLine("empty", "Coming soon."));
    return null;
  },
};
