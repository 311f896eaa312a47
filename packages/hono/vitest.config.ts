import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["source"] },
  test: { name: "hono", include: ["test/**/*.test.ts"] }
})
