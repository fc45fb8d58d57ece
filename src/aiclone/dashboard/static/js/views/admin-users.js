// @ts-check
// The Admin view's per-user actions: deactivate or activate, change the role, delete (after a
// confirmation). A refused change (409 `last-admin`: the installation keeps one active admin)
// shows the server's detail; any change ends the user's sessions on the server.

import { errorBox, h, modal, replace, select } from "../dom.js";

export const ROLES = [["user", "user"], ["admin", "admin"]];

// ---------------------------------------------------------------- pure helpers (unit-tested)

/** The PATCH body for an action on `user`, or null when it would change nothing. */
export function userUpdate(action, user, value) {
  if (action === "toggle-active") return { is_active: !user.is_active };
  if (action === "role") return value && value !== user.role ? { role: value } : null;
  return null;
}

/** The line a refused change shows: the server's detail when it gave one. */
export function refusalText(error) {
  if (error?.status === 409) return error.detail || error.title || "The change conflicts with another account.";
  return error?.detail || error?.title || String(error?.message ?? error);
}

// ---------------------------------------------------------------- the actions cell

/**
 * The actions of one user row. `replaceRow(user)` re-renders the row with the server's answer,
 * `removeRow()` takes it out, `report(error)` shows a refusal where the list can see it.
 */
export function userActions(item, { api, toast, replaceRow, removeRow, report, refuse }) {
  const fail = (error) => {
    if (!refuse(error)) report(error);
  };
  const patch = async (change, control) => {
    if (!change) return;
    control.disabled = true;
    try {
      replaceRow(await api.patch(`/api/admin/users/${encodeURIComponent(item.id)}`, change));
      toast(`${item.email} updated.`, "success");
    } catch (error) {
      control.disabled = false;
      fail(error);
    }
  };
  const toggle = h(
    "button",
    { type: "button", class: ["small", item.is_active ? "ghost" : "primary"], dataset: { action: "toggle-active" } },
    item.is_active ? "Deactivate" : "Activate",
  );
  toggle.addEventListener("click", () => patch(userUpdate("toggle-active", item), toggle));
  const role = select("role", ROLES, item.role);
  role.setAttribute("aria-label", `Role of ${item.email}`);
  role.dataset.action = "role";
  role.addEventListener("change", async () => {
    await patch(userUpdate("role", item, role.value), role);
    role.value = item.role; // the re-rendered row shows the new role; a refusal keeps the old
  });
  const remove = h("button", { type: "button", class: "danger small", dataset: { action: "delete" } }, "Delete…");
  remove.addEventListener("click", () => confirmDelete(item, { api, toast, removeRow, fail }));
  return h("div", { class: "user-actions" }, toggle, role, remove);
}

function confirmDelete(item, { api, toast, removeRow, fail }) {
  const errors = h("div", { class: "form-errors" });
  const confirm = h("button", { type: "button", class: "danger", id: "delete-user-confirm" }, "Delete for good");
  const cancel = h("button", { type: "button", class: "ghost" }, "Cancel");
  const dialog = modal(
    "Delete this user?",
    h(
      "div",
      {},
      h("p", {}, "Deletes ", h("strong", {}, item.email), " and all their data. This cannot be undone."),
      errors,
      h("div", { class: "actions" }, confirm, cancel),
    ),
  );
  cancel.addEventListener("click", dialog.close);
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    try {
      await api.delete(`/api/admin/users/${encodeURIComponent(item.id)}`);
    } catch (error) {
      confirm.disabled = false;
      if (error?.status === 409) replace(errors, errorBox({ title: "Refused", detail: refusalText(error) }));
      else {
        dialog.close();
        fail(error);
      }
      return;
    }
    dialog.close();
    removeRow();
    toast(`${item.email} deleted.`, "success");
  });
  cancel.focus();
}
