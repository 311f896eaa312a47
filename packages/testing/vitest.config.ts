import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["source"] },
  test: { name: "testing", include: ["test/**/*.test.ts"] }
})
