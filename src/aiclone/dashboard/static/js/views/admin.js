// The Admin view (being built).

import { h, replace, stateLine } from "../dom.js";

export default {
  id: "admin",
  title: "Admin",
  adminOnly: true,
  mount(root) {
    replace(root, h("h2", {}, "Admin"), stateLine("empty", "Coming soon."));
    return null;
  },
};
