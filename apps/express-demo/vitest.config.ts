import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["source"] },
  test: { name: "express-demo", include: ["test/**/*.test.ts"] }
})
