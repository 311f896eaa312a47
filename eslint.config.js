import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", ".nx/**", "**/*.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "no-restricted-imports": ["error", { patterns: [{ group: ["@identify-face/*/internal/*", "@identify-face/*/src/*"], message: "internal modules are private to their package" }] }]
    }
  },
  {
    // The web page's browser scripts are type-checked by tsc (checkJs), which knows the browser's globals.
    files: ["packages/web/page/**/*.js"],
    rules: { "no-undef": "off" }
  },
  {
    // Node scripts in plain JavaScript (command shims).
    files: ["**/bin/*.js"],
    languageOptions: { globals: { process: "readonly", URL: "readonly" } }
  },
  {
    files: ["packages/core/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["node:*"], message: "core has no Node-only dependency" }] }]
    }
  }
)
