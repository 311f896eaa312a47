/**
 * Settings are checked at construction, with a message naming the wrong one.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Config from "../src/Config.js"
import type { IdentifyFaceConfig } from "../src/Config.js"

describe("Config.make", () => {
  it("answers the documented defaults", () => {
    const config = Config.make()
    expect(config.concurrency).toBe(1)
    expect(Duration.toMillis(config.sessionTtl)).toBe(24 * 3_600_000)
    expect(config.maxVideoBytes).toBe(104_857_600)
    expect(Duration.toMillis(config.bodyIdleTimeout)).toBe(30_000)
    expect(config.publicUrl).toBeUndefined()
  })

  it("applies overrides", () => {
    const config = Config.make({ concurrency: 4, taskTimeout: Duration.seconds(30), publicUrl: "https://api.example.com/identify" })
    expect(config).toMatchObject({ concurrency: 4, publicUrl: "https://api.example.com/identify" })
    expect(Duration.toMillis(config.taskTimeout)).toBe(30_000)
  })

  it.each<readonly [keyof IdentifyFaceConfig, unknown]>([
    ["concurrency", 0],
    ["concurrency", -1],
    ["concurrency", 1.5],
    ["concurrency", Number.NaN],
    ["concurrency", "2"],
    ["maxVideoBytes", 0],
    ["maxVideoBytes", Number.POSITIVE_INFINITY],
    ["maxJsonBytes", -5],
    ["taskTimeout", Duration.zero],
    ["taskTimeout", Duration.infinity],
    ["taskTimeout", "10 minutes"],
    ["sessionTtl", Duration.zero],
    ["sessionTtl", 86_400_000],
    ["pollHint", Duration.infinity],
    ["bodyIdleTimeout", Duration.zero],
    ["bodyTimeout", Duration.infinity],
    ["pollBudget", 0],
    ["publicUrl", "api.example.com"],
    ["publicUrl", "ftp://api.example.com"],
    ["publicUrl", "https://api.example.com/?tenant=1"],
    ["publicUrl", "https://api.example.com/#top"]
  ])("refuses %s = %j with an InvalidConfigError naming it", (name, value) => {
    const build = () => Config.make({ [name]: value } as Partial<IdentifyFaceConfig>)
    expect(build).toThrow(Config.InvalidConfigError)
    expect(build).toThrow(name)
  })
})
