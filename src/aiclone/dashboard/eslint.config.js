// ESLint for the dashboard's ES modules (`npm run lint`, from `make lint-js`). Besides the
// recommended rules, the page's safety rules are enforced here: data reaches the page as text
// nodes only, so every HTML sink and every way of running a string as code is refused.
import js from "@eslint/js";
import globals from "globals";

const HTML_SINKS = ["innerHTML", "outerHTML"];
const sinkMessage = "Build nodes with h()/text nodes: the page never parses strings as HTML.";

export default [
  { ignores: ["node_modules/", "static/js/vendor/"] },
  js.configs.recommended,
  {
    files: ["static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: globals.browser,
    },
    rules: {
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_", caughtErrors: "none" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-implicit-globals": "error",
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-script-url": "error",
      "no-var": "error",
      "prefer-const": "error",
      "no-shadow": "error",
      "no-throw-literal": "error",
      "no-return-assign": "error",
      "no-self-compare": "error",
      "no-unmodified-loop-condition": "error",
      "no-unused-expressions": "error",
      "consistent-return": "error",
      "default-case-last": "error",
      "no-param-reassign": "error",
      curly: ["error", "multi-line"],
      // A view is split into state, rendering and actions; no function grows into a closure of
      // hand-synced state again, and no module past ~400 lines.
      "max-lines-per-function": ["error", { max: 150, skipBlankLines: true, skipComments: true }],
      "max-lines": ["error", { max: 400, skipBlankLines: true, skipComments: true }],
      "no-restricted-properties": [
        "error",
        { object: "document", property: "write", message: sinkMessage },
        { object: "document", property: "writeln", message: sinkMessage },
      ],
      "no-restricted-syntax": [
        "error",
        ...HTML_SINKS.map((name) => ({
          selector: `MemberExpression[property.name='${name}']`,
          message: `${name}: ${sinkMessage}`,
        })),
        ...HTML_SINKS.map((name) => ({
          selector: `MemberExpression[computed=true][property.value='${name}']`,
          message: `${name}: ${sinkMessage}`,
        })),
        {
          selector: "CallExpression[callee.property.name='insertAdjacentHTML']",
          message: `insertAdjacentHTML: ${sinkMessage}`,
        },
        {
          selector: "CallExpression[callee.property.name=/^(createContextualFragment|parseFromString|setHTMLUnsafe)$/]",
          message: sinkMessage,
        },
        { selector: "NewExpression[callee.name='Function']", message: "new Function runs a string as code." },
        { selector: "CallExpression[callee.name=/^set(Timeout|Interval)$/][arguments.0.type='Literal']", message: "A string timer runs a string as code." },
      ],
    },
  },
];
