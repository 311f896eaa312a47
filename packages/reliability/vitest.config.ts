import { packageProject } from "../../vitest.shared.js"

// Timings are measured here: the project runs after every other one, one file at a time.
export default packageProject("reliability", {
  fileParallelism: false,
  sequence: { groupOrder: 1 },
  testTimeout: 120_000,
  hookTimeout: 120_000
})
