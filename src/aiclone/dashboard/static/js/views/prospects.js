// The Prospects view (being built).

import { h, replace, stateLine } from "../dom.js";

export default {
  id: "prospects",
  title: "Prospects",
  adminOnly: false,
  mount(root) {
    replace(root, h("h2", {}, "Prospects"), stateLine("empty", "Coming soon."));
    return null;
  },
};
