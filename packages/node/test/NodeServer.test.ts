/**
 * The embedded server's settings from the environment: a wrong value stops the start with an
 * error naming the variable.
 */
import { describe, expect, it } from "@effect/vitest"
import { InvalidConfigError } from "@identify-face/core/Config"
import * as Duration from "effect/Duration"
import * as NodeServer from "../src/NodeServer.js"

describe("NodeServer.wholeNumberFromEnv", () => {
  it("reads a whole number, and nothing when the variable is unset or empty", () => {
    const env = { IDENTIFY_FACE_ANALYZER_DELAY_MS: "1500", EMPTY: "" }
    expect(NodeServer.wholeNumberFromEnv(env, "IDENTIFY_FACE_ANALYZER_DELAY_MS")).toBe(1500)
    expect(NodeServer.wholeNumberFromEnv(env, "EMPTY")).toBeUndefined()
    expect(NodeServer.wholeNumberFromEnv(env, "UNSET")).toBeUndefined()
  })

  it("refuses anything else, naming the variable and the value", () => {
    for (const value of ["fast", "-5", "1.5", "1e3", " 50", "99999999999999999999"]) {
      expect(() => NodeServer.wholeNumberFromEnv({ IDENTIFY_FACE_ANALYZER_DELAY_MS: value }, "IDENTIFY_FACE_ANALYZER_DELAY_MS")).toThrow(
        new InvalidConfigError(`identify-face: IDENTIFY_FACE_ANALYZER_DELAY_MS must be a whole number, got ${value}`)
      )
    }
  })
})

describe("NodeServer.settingsFromEnv", () => {
  it("reads the whole-number settings, and refuses a wrong one naming it", () => {
    const settings = NodeServer.settingsFromEnv({ IDENTIFY_FACE_API_KEYS: "k", IDENTIFY_FACE_CONCURRENCY: "2", IDENTIFY_FACE_SHUTDOWN_SECONDS: "3" })
    expect(settings.config).toMatchObject({ concurrency: 2 })
    expect(Duration.toSeconds(settings.shutdownTimeout)).toBe(3)
    expect(() => NodeServer.settingsFromEnv({ IDENTIFY_FACE_TASK_TIMEOUT_SECONDS: "ten" })).toThrow(/IDENTIFY_FACE_TASK_TIMEOUT_SECONDS must be a whole number, got ten/)
  })

  it("reads the hosts a callback_url may name although local, none when unset", () => {
    const settings = NodeServer.settingsFromEnv({ IDENTIFY_FACE_ALLOW_CALLBACK_HOSTS: "127.0.0.1:4000, localhost:5000" })
    expect(["127.0.0.1:4000", "localhost:5000", "127.0.0.1:4001"].map((host) => settings.allowCallbackHost?.(host))).toEqual([true, true, false])
    expect(NodeServer.settingsFromEnv({}).allowCallbackHost).toBeUndefined()
  })
})
