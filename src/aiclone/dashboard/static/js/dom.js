// @ts-check
// DOM building without HTML strings. Every piece of data becomes a text node, so prospect names,
// event payloads or webhook responses can never inject markup. There is no innerHTML anywhere in
// the dashboard; `h()` is the only way views build elements.

const SVG_NS = "http://www.w3.org/2000/svg";

// Attributes whose values are URLs: only same-origin paths, fragments, http(s) and mailto.
const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "xlink:href"]);
const SAFE_URL = /^(?:[/#?]|https?:|mailto:)/i;

/**
 * What `h()` takes as children: nodes, text (any value but booleans and null becomes a text
 * node), and nested lists of them.
 * @typedef {Node | string | number | boolean | null | undefined | ReadonlyArray<any>} Child
 */

/**
 * Props of `h()`: attributes, plus `on` (event listeners), `dataset` and `class` (a list is
 * joined, falsy names left out).
 * @typedef {Record<string, any>} Props
 */

/** @param {unknown} value */
export function isSafeUrl(value) {
  const text = String(value).trim();
  return SAFE_URL.test(text) && !text.startsWith("//");
}

/**
 * @param {HTMLElement} el
 * @param {string} key
 * @param {any} value
 */
function setProperty(el, key, value) {
  if (value === undefined || value === null || value === false) return;
  if (key === "on") {
    for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    return;
  }
  if (key === "dataset") {
    for (const [name, data] of Object.entries(value)) el.dataset[name] = String(data);
    return;
  }
  if (key === "class") {
    const names = Array.isArray(value) ? value.filter(Boolean).join(" ") : String(value);
    if (names) el.setAttribute("class", names);
    return;
  }
  if (key === "style" || key.startsWith("on") || key === "innerHTML" || key === "srcdoc") {
    // Inline styles are refused by the page's CSP, inline handlers and markup by design.
    throw new Error(`h(): the "${key}" attribute is not allowed`);
  }
  if (URL_ATTRIBUTES.has(key) && !isSafeUrl(value)) {
    throw new Error(`h(): refusing unsafe URL in "${key}"`);
  }
  if (key === "value" || key === "checked" || key === "selected" || key === "disabled") {
    /** @type {any} */ (el)[key] = value;
    if (key !== "value" && value) el.setAttribute(key, "");
    return;
  }
  el.setAttribute(key, value === true ? "" : String(value));
}

/**
 * @param {Element} el
 * @param {Child} child
 */
function append(el, child) {
  if (child === undefined || child === null || child === false || child === true) return;
  if (Array.isArray(child)) {
    for (const item of child) append(el, item);
  } else if (child instanceof Node) {
    el.appendChild(child);
  } else {
    el.appendChild(document.createTextNode(String(child)));
  }
}

/**
 * Creates an HTML element: `h("button", { class: "primary", on: { click } }, "Save")`.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props | null} [props]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) setProperty(el, key, value);
  append(el, children);
  return el;
}

/**
 * Creates an SVG element; attribute values are set as attributes, text as text nodes.
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : String(value));
    else if (key.startsWith("on") || key === "style" || URL_ATTRIBUTES.has(key)) {
      throw new Error(`s(): the "${key}" attribute is not allowed`);
    } else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/**
 * Replaces all children of `el` with `children`.
 * @template {Element} E
 * @param {E} el
 * @param {...Child} children
 * @returns {E}
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * A readable loading / empty / error line.
 * @param {"loading" | "empty" | "error"} kind
 * @param {Child} text
 */
export function stateLine(kind, text) {
  return h("p", { class: ["state", `state-${kind}`], role: kind === "error" ? "alert" : null }, text);
}

/**
 * Renders an error (an ApiError or anything else) as text, with field-level details.
 * @param {any} error
 */
export function errorBox(error) {
  const title = error?.title || "Something went wrong";
  const detail = error?.detail || (error?.title ? "" : String(error?.message ?? error));
  const fields = Array.isArray(error?.errors) ? error.errors : [];
  return h(
    "div",
    { class: "error-box", role: "alert" },
    h("strong", {}, title),
    detail ? h("span", {}, ` ${detail}`) : null,
    fields.length
      ? h("ul", {}, fields.map((/** @type {any} */ item) => h("li", {}, `${item.field}: ${item.message}`)))
      : null,
  );
}

/**
 * A labelled form field. `control` is an input/select/textarea element.
 * @param {Child} label
 * @param {HTMLElement} control
 * @param {Child} [hint]
 */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("small", { class: "hint" }, hint) : null,
  );
}

/**
 * A <select> from [value, label] pairs.
 * @param {string} name
 * @param {ReadonlyArray<ReadonlyArray<string>>} options
 * @param {string} [selected]
 */
export function select(name, options, selected) {
  return h(
    "select",
    { name },
    options.map(([value, label]) => h("option", { value, selected: value === selected }, label)),
  );
}

/**
 * Reads a form's fields into an object of strings (empty strings kept).
 * @param {HTMLFormElement} form
 * @returns {Record<string, string>}
 */
export function formValues(form) {
  return Object.fromEntries([...new FormData(form).entries()].map(([key, value]) => [key, String(value)]));
}

/**
 * Disables a form's controls while `work` runs; returns its result.
 * @template T
 * @param {Element} form
 * @param {() => Promise<T> | T} work
 * @returns {Promise<T>}
 */
export async function busy(form, work) {
  const controls = [
    .../** @type {NodeListOf<HTMLButtonElement | HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>} */ (
      form.querySelectorAll("button, input, select, textarea")
    ),
  ];
  const before = controls.map((control) => control.disabled);
  controls.forEach((control) => (control.disabled = true));
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    controls.forEach((control, index) => (control.disabled = before[index]));
    form.removeAttribute("aria-busy");
  }
}

/**
 * On each submit of `form`: clears `errors`, runs `work` with the form's values while its
 * controls are disabled (the values are read first: a disabled control is not in a FormData),
 * then hands the result to `done`; a failure goes to `failed` and is shown in `errors`.
 * @template T
 * @param {HTMLFormElement} form
 * @param {HTMLElement} errors
 * @param {(values: Record<string, string>) => Promise<T> | T} work
 * @param {{ done?: (result: T) => void, failed?: () => void }} [after]
 */
export function handleSubmit(form, errors, work, { done, failed } = {}) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(errors);
    const values = formValues(form);
    try {
      const result = await busy(form, () => work(values));
      done?.(result);
    } catch (error) {
      failed?.();
      replace(errors, errorBox(error));
    }
  });
}

/**
 * A modal dialog (native <dialog>): returns { dialog, close }. Escape closes it.
 * @param {string} title
 * @param {Child} body
 * @param {{ onClose?: () => void }} [options]
 */
export function modal(title, body, { onClose } = {}) {
  const closeButton = h("button", { type: "button", class: "ghost", "aria-label": "Close" }, "×");
  const dialog = h(
    "dialog",
    { class: "modal", "aria-label": title },
    h("header", {}, h("h2", {}, title), closeButton),
    body,
  );
  const close = () => {
    if (dialog.open) dialog.close();
  };
  closeButton.addEventListener("click", close);
  dialog.addEventListener("close", () => {
    dialog.remove();
    onClose?.();
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  return { dialog, close };
}
