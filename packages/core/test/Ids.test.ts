/**
 * Ids are unguessable and can never be mistaken for paths.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as Ids from "../src/Ids.js"

describe("Ids", () => {
  it.each<readonly [string, () => string, (text: unknown) => boolean]>([
    ["task", Ids.makeTaskId, Ids.isTaskId],
    ["vid", Ids.makeVideoId, Ids.isVideoId],
    ["req", Ids.makeRequestId, Schema.is(Ids.RequestId)],
    ["ses", Ids.makeSessionId, Schema.is(Ids.SessionId)]
  ])("makes %s ids that match their format and do not repeat", (prefix, make, isValid) => {
    const ids = Array.from({ length: 200 }, () => make())
    for (const id of ids) {
      expect(id).toMatch(new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`))
      expect(isValid(id)).toBe(true)
    }
    expect(new Set(ids).size).toBe(ids.length)
  })

  it("makes screenshot keys of 43 base64url characters and .jpg", () => {
    const keys = Array.from({ length: 200 }, () => Ids.makeFileKey())
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}\.jpg$/)
      expect(Ids.isFileKey(key)).toBe(true)
    }
    expect(new Set(keys).size).toBe(keys.length)
  })

  const body = "0".repeat(26)
  it.each([
    ["empty", ""],
    ["a path", "../x"],
    ["a path with the prefix", `task_../${body}`],
    ["a NUL", `task_${body}\u0000`],
    ["a NUL inside", `task_${body.slice(1)}\u0000`],
    ["a newline", `task_${body}\n`],
    ["10 KB", `task_${"0".repeat(10_240)}`],
    ["one character short", `task_${body.slice(1)}`],
    ["upper case", `task_${"A".repeat(26)}`],
    ["a letter base32 leaves out", `task_${"i".repeat(26)}`],
    ["another prefix", `vid_${body}`]
  ])("refuses %s as a task id", (_, text) => {
    expect(Ids.isTaskId(text)).toBe(false)
  })

  it.each(["../x.jpg", `${"a".repeat(43)}.png`, `${"a".repeat(42)}.jpg`, `${"a".repeat(43)}.jpg\u0000`, `${"a/".repeat(21)}a.jpg`, "a".repeat(10_240)])(
    "refuses %j as a screenshot key",
    (text) => {
      expect(Ids.isFileKey(text)).toBe(false)
    }
  )
})
