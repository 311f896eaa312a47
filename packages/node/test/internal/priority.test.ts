import { readdirSync } from "node:fs"
import { getPriority } from "node:os"
import { describe, expect, it } from "vitest"
import { DetectorPool } from "../../src/internal/DetectorPool.js"
import { runToCompletion } from "../../src/internal/ffmpeg.js"
import { HEAVY_WORK_NICENESS, lowerChildPriority } from "../../src/internal/priority.js"
import { niceOf, niceOfThread } from "../support/proc.js"

const threadNices = () => readdirSync("/proc/self/task").map((tid) => niceOfThread("self", tid))

const lowered = () => Math.min(19, getPriority() + HEAVY_WORK_NICENESS)

describe.runIf(process.platform === "linux")("heavy work at a lower priority", () => {
  it("runs children below this process", async () => {
    // The wait lets the priority set after the spawn land before the child reads it.
    const stat = await runToCompletion("sh", ["-c", "sleep 0.2; cat /proc/$$/stat"])
    expect(niceOf(stat.toString())).toBe(lowered())
  })

  it("lowers each detector thread, and not the thread that answers requests", async () => {
    const before = getPriority()
    const pool = await DetectorPool.create({ size: 2 })
    try {
      expect(threadNices().filter((nice) => nice === lowered())).toHaveLength(2)
      expect(getPriority()).toBe(before)
    } finally {
      await pool.close()
    }
  })

  it("ignores a child that is gone, or never started", () => {
    // Past Linux's largest pid_max (2^22): no process has it.
    expect(() => lowerChildPriority(2 ** 22 + 1)).not.toThrow()
    expect(() => lowerChildPriority(undefined)).not.toThrow()
  })
})
