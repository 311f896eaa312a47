import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["source"] },
  test: { name: "node", include: ["test/**/*.test.ts"] }
})
