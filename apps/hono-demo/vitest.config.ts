import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["source"] },
  test: { name: "hono-demo", include: ["test/**/*.test.ts"] }
})
